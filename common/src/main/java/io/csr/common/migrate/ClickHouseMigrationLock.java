package io.csr.common.migrate;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One {@code csr migrate} at a time per ClickHouse database, cluster-wide: a PostgreSQL session advisory lock on
 * ("csrm", hash of the database name), held on its own connection while the ClickHouse migrations run. ClickHouse has no
 * lock of its own, and two runners applying the same {@code ON CLUSTER} statements and ledger rows at once would race;
 * PostgreSQL is where every deployment of the project already keeps its single source of truth, and a session lock
 * goes with its connection when a runner crashes, so no stale lock is ever left behind.
 */
public final class ClickHouseMigrationLock {
    /** "csrm" in ASCII: the lock class of ClickHouse migrations (the rule cohorts' pass uses "csrr"). */
    static final int LOCK_CLASS = 0x6373726d;
    private static final Duration WAIT = Duration.ofMinutes(10);

    private ClickHouseMigrationLock() {
    }

    /** Blocks until the lock is held (at most 10 minutes); closing the result releases it. */
    public static AutoCloseable acquire(PostgresSettings pg, String clickHouseDatabase, Consumer<String> progress) {
        Connection c;
        try {
            c = pg.connect();
        } catch (SQLException e) {
            throw new MigrationException("cannot take the ClickHouse migration lock in PostgreSQL at " + pg.url() + ": "
                    + e.getMessage() + " (is PostgreSQL up? bin/csr up)", e);
        }
        try (PreparedStatement st = c.prepareStatement("SELECT pg_try_advisory_lock(?, hashtext(?))")) {
            st.setInt(1, LOCK_CLASS);
            st.setString(2, clickHouseDatabase);
            long deadline = System.nanoTime() + WAIT.toNanos();
            boolean told = false;
            while (true) {
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        break;
                    }
                }
                if (!told) {
                    progress.accept("clickhouse: another csr migrate of database " + clickHouseDatabase + " runs; waiting for it");
                    told = true;
                }
                if (System.nanoTime() > deadline) {
                    throw new MigrationException("another csr migrate of ClickHouse database " + clickHouseDatabase
                            + " held the lock for " + WAIT.toMinutes() + " minutes; find it in PostgreSQL's pg_locks (locktype advisory, classid "
                            + LOCK_CLASS + ") and let it finish or end it");
                }
                Thread.sleep(500);
            }
        } catch (SQLException | InterruptedException | RuntimeException e) {
            closeQuietly(c);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw e instanceof MigrationException me ? me
                    : new MigrationException("cannot take the ClickHouse migration lock: " + e.getMessage(), e);
        }
        return () -> closeQuietly(c); // closing the session releases its advisory locks
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the session ends either way
        }
    }
}
