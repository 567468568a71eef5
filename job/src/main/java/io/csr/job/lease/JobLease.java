package io.csr.job.lease;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.csr.job.process.LocalProcess;

/**
 * Exactly one job per sink: a lease row in PostgreSQL ({@code job_leases}), one per {@link LeaseSettings#name()},
 * taken by the job's holder and renewed on a schedule; every time comparison uses PostgreSQL's {@code now()}, so the
 * holders' clocks do not matter. A holder that dies without releasing it (kill -9, a lost machine) stops renewing
 * and its lease lapses JOB_LEASE_TTL_SECONDS after the last renewal; then the next job may take it.
 *
 * <p>Why a lease row and not a session-level advisory lock: the lock belongs to one PostgreSQL connection, but the
 * holder here is a job, not a process — on a cluster the sink's subtask 0 moves to another TaskManager on failover and
 * must get the lease again at once although the dead TaskManager's connection may linger for minutes (until TCP
 * keepalive), and a refused job must be told who runs (host, pid, since when, how long the lease has left), which a
 * row carries and a lock does not. ClickHouse has no atomic compare-and-set, so it is no place for a lock.
 *
 * <p>Within one JVM the lease is counted: the embedded job's process takes it before the MiniCluster starts, and the
 * sink's writer in the same JVM takes it again with the same holder; it is renewed by one thread while anyone holds
 * it and released (row deleted) when the last one lets go, or when the JVM shuts down (SIGTERM). Renewals and the
 * release go over one connection the holder keeps (a HikariCP pool of one), so a renewal needs no new PostgreSQL
 * connection: while others hold every one of PostgreSQL's {@code max_connections}, the lease is still renewed.
 */
public final class JobLease implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobLease.class);
    private static final Map<String, Held> HELD = new HashMap<>();
    private static final Driver DRIVER = new org.postgresql.Driver();
    private static final String STARTED = Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()).toString();
    /** How a later job on this host tells this process from a later one under the same pid, whatever the wall clock did. */
    private static final String START_STAMP = LocalProcess.StartStamp.ofThisProcess().orElse(null);
    /** Database and schema whose job_leases has the start-stamp column: asked once per process, not per lease operation. */
    private static final Set<String> STAMPED_SCHEMAS = ConcurrentHashMap.newKeySet();

    private final LeaseSettings settings;
    private boolean closed;

    private JobLease(LeaseSettings settings) {
        this.settings = settings;
    }

    /**
     * Takes the lease for {@code settings.holder()} (or keeps it, when this holder has it already), renewing it from
     * then on, and names the running job in a {@link LeaseRefusedException} when another holder's lease is live.
     *
     * @param flinkJobId the Flink job id when known (shown to a refused job), else null
     */
    public static JobLease acquire(LeaseSettings settings, String flinkJobId) {
        synchronized (HELD) {
            String key = settings.name() + "\u0000" + settings.holder();
            Held held = HELD.get(key);
            if (held == null) {
                tryTake(settings, flinkJobId);
                held = new Held(settings);
                HELD.put(key, held);
            } else if (flinkJobId != null) {
                tryTake(settings, flinkJobId, held.connection::getConnection);
            }
            held.count++;
            held.jobId = flinkJobId != null ? flinkJobId : held.jobId;
            return new JobLease(settings);
        }
    }

    /** The live lease of another holder on {@code settings.name()}, described, if there is one. */
    public static Optional<String> heldByOther(LeaseSettings settings) {
        try (Connection c = connect(settings)) {
            return describeOther(c, settings);
        } catch (SQLException e) {
            throw unreachable(settings, e);
        }
    }

    @Override
    public void close() {
        synchronized (HELD) {
            if (closed) {
                return;
            }
            closed = true;
            String key = settings.name() + "\u0000" + settings.holder();
            Held held = HELD.get(key);
            if (held != null && --held.count == 0) {
                HELD.remove(key);
                held.stop();
            }
        }
    }

    /** Opens a connection (a new one, or the holder's kept one). */
    @FunctionalInterface
    private interface Connections {
        Connection open() throws SQLException;
    }

    /** Takes or renews over a new connection; throws {@link LeaseRefusedException} when another holder's lease is live. */
    static void tryTake(LeaseSettings s, String flinkJobId) {
        tryTake(s, flinkJobId, () -> connect(s));
    }

    private static void tryTake(LeaseSettings s, String flinkJobId, Connections connections) {
        try (Connection c = connections.open()) {
            ensureTable(c, s);
            String deadHolder = deadLocalHolder(c, s);
            try (PreparedStatement p = c.prepareStatement("INSERT INTO " + table(s) + " AS l"
                    + " (name, holder, job_id, host, pid, process_started, process_start_stamp, taken_at, renewed_at, expires_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, now(), now(), now() + make_interval(secs => ?))"
                    + " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
                    + " job_id = coalesce(EXCLUDED.job_id, CASE WHEN l.holder = EXCLUDED.holder THEN l.job_id END),"
                    + " host = EXCLUDED.host, pid = EXCLUDED.pid, process_started = EXCLUDED.process_started,"
                    + " process_start_stamp = EXCLUDED.process_start_stamp,"
                    + " taken_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.taken_at ELSE now() END,"
                    + " renewed_at = now(), expires_at = EXCLUDED.expires_at"
                    + " WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now() OR l.holder = ?"
                    + " RETURNING holder")) {
                p.setString(1, s.name());
                p.setString(2, s.holder());
                p.setString(3, flinkJobId);
                p.setString(4, host());
                p.setLong(5, ProcessHandle.current().pid());
                p.setString(6, STARTED);
                p.setString(7, START_STAMP);
                p.setLong(8, s.ttlSeconds());
                p.setString(9, deadHolder);
                try (ResultSet r = p.executeQuery()) {
                    if (r.next()) {
                        return;
                    }
                }
            }
            throw new LeaseRefusedException(describeOther(c, s).orElse("another job took the lease " + s.name()
                    + " a moment ago; run `bin/csr status` and try again"));
        } catch (SQLException e) {
            throw unreachable(s, e);
        }
    }

    /** Keeps this JVM's lease (renewal) and gives it back; what JobLease instances count. */
    private static void renew(LeaseSettings s, String jobId, HikariDataSource connection) {
        try (Connection c = connection.getConnection(); PreparedStatement p = c.prepareStatement("UPDATE " + table(s)
                + " SET renewed_at = now(), expires_at = now() + make_interval(secs => ?) WHERE name = ? AND holder = ?")) {
            p.setLong(1, s.ttlSeconds());
            p.setString(2, s.name());
            p.setString(3, s.holder());
            if (p.executeUpdate() == 1) {
                return;
            }
        } catch (SQLException e) {
            // PostgreSQL away: no other job can take the lease either; the next renewal tries again
            LOG.warn("cannot renew job lease {} at {}: {}; retrying in {} ms", s.name(), s.jdbcUrl(), e.getMessage(), s.renewEveryMs());
            return;
        }
        // the row is gone or another holder's: our lease lapsed (no renewal for a whole TTL) and was taken or removed
        try {
            tryTake(s, jobId, connection::getConnection);
            LOG.warn("job lease {} had lapsed (no renewal for {} s) and was taken again", s.name(), s.ttlSeconds());
        } catch (LeaseRefusedException e) {
            LOG.error("job lease {} was lost to another job: {}", s.name(), e.getMessage());
            synchronized (HELD) {
                Held held = HELD.get(s.name() + "\u0000" + s.holder());
                if (held != null) {
                    held.lost = e.getMessage();
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("cannot renew job lease {}: {}", s.name(), e.getMessage());
        }
    }

    /** Null while this JVM holds the lease; the running job's description once it was lost to another job. */
    public String lostTo() {
        synchronized (HELD) {
            Held held = HELD.get(settings.name() + "\u0000" + settings.holder());
            return held == null ? null : held.lost;
        }
    }

    private static void release(LeaseSettings s, HikariDataSource connection) {
        try (Connection c = connection.getConnection(); PreparedStatement p = c.prepareStatement("DELETE FROM " + table(s) + " WHERE name = ? AND holder = ?")) {
            p.setString(1, s.name());
            p.setString(2, s.holder());
            p.executeUpdate();
        } catch (SQLException e) {
            LOG.warn("cannot release job lease {} ({}); it lapses by itself within {} s", s.name(), e.getMessage(), s.ttlSeconds());
        }
    }

    /**
     * The holder of a live lease whose process ran on this host and is gone (no such pid, a zombie, or the pid now
     * belongs to a process started at another time), else null: such a lease cannot be renewed any more, so waiting
     * for it to lapse would only hold up a restart after kill -9 ({@code bin/csr start} right after a crash) by up to
     * JOB_LEASE_TTL_SECONDS. A holder on another host is judged by its lease alone.
     */
    private static String deadLocalHolder(Connection c, LeaseSettings s) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT holder, host, pid, process_started, process_start_stamp FROM " + table(s)
                + " WHERE name = ? AND holder <> ? AND expires_at > now()")) {
            p.setString(1, s.name());
            p.setString(2, s.holder());
            try (ResultSet r = p.executeQuery()) {
                if (!r.next() || !host().equals(r.getString("host"))) {
                    return null;
                }
                long pid = r.getLong("pid");
                String stamp = r.getString("process_start_stamp");
                if (LocalProcess.runs(pid, stamp != null ? stamp : r.getString("process_started"))) {
                    return null;
                }
                LOG.info("job lease {}: its holder, pid {} on this host, is gone; taking the lease over", s.name(), pid);
                return r.getString("holder");
            }
        }
    }

    private static Optional<String> describeOther(Connection c, LeaseSettings s) throws SQLException {
        ensureTable(c, s);
        try (PreparedStatement p = c.prepareStatement("SELECT holder, job_id, host, pid, process_started, taken_at,"
                + " ceil(extract(epoch FROM expires_at - now()))::bigint AS left_s FROM " + table(s)
                + " WHERE name = ? AND holder <> ? AND expires_at > now()")) {
            p.setString(1, s.name());
            p.setString(2, s.holder());
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    return Optional.empty();
                }
                String job = r.getString("job_id");
                return Optional.of("another job already runs with sink " + s.name() + " (CLICKHOUSE_DATABASE/CLICKHOUSE_SINK_ID): "
                        + (job == null ? "an embedded job starting" : "Flink job " + job) + " on host " + r.getString("host")
                        + ", pid " + r.getLong("pid") + " (process started " + r.getString("process_started") + "), holding the lease since "
                        + r.getTimestamp("taken_at").toInstant() + "; its lease has " + r.getLong("left_s") + " s left of JOB_LEASE_TTL_SECONDS="
                        + s.ttlSeconds() + " and is renewed while it runs. Two jobs on one sink would write every Redis entry and SSE frame twice."
                        + " Stop that job first (bin/csr stop, or bin/csr savepoint for a cluster job); if it crashed, its lease lapses by"
                        + " itself within " + s.ttlSeconds() + " s: start again then. To run a second job beside it on purpose, give it its"
                        + " own CLICKHOUSE_SINK_ID (or database).");
            }
        }
    }

    private static IllegalStateException unreachable(LeaseSettings s, SQLException e) {
        return new IllegalStateException("cannot take or check the job lease " + s.name() + " in PostgreSQL " + s.jdbcUrl()
                + " (" + e.getMessage() + "); the job runs only while it holds its lease: check POSTGRES_URL/POSTGRES_USER"
                + " and that PostgreSQL runs (bin/csr status)", e);
    }

    private static Connection connect(LeaseSettings s) throws SQLException {
        // the driver itself, not DriverManager: in a Flink TaskManager the job's classes (the driver among them) live in
        // the user-code class loader, which DriverManager does not search ("No suitable driver")
        Properties props = new Properties();
        props.setProperty("user", s.user());
        if (s.password() != null) {
            props.setProperty("password", s.password());
        }
        Connection c = DRIVER.connect(s.jdbcUrl(), props);
        if (c == null) {
            throw new SQLException("not a PostgreSQL JDBC URL: " + s.jdbcUrl() + " (POSTGRES_URL must start with jdbc:postgresql://)");
        }
        c.setAutoCommit(true);
        return c;
    }

    private static String table(LeaseSettings s) {
        return quote(s.schema()) + ".job_leases";
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static void ensureTable(Connection c, LeaseSettings s) throws SQLException {
        String ddl = "CREATE TABLE IF NOT EXISTS " + table(s) + " (name text PRIMARY KEY, holder text NOT NULL, job_id text,"
                + " host text NOT NULL, pid bigint NOT NULL, process_started text NOT NULL, taken_at timestamptz NOT NULL,"
                + " renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, process_start_stamp text)";
        try (Statement st = c.createStatement()) {
            st.execute(ddl);
        } catch (SQLException e) {
            // two first holders creating it at once: one CREATE loses on the catalog's unique index; the table exists
            if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
                throw e;
            }
        }
        addStartStampColumn(c, s);
    }

    /**
     * A table made before the start stamp existed gets its column (rows without a stamp are judged by
     * {@code process_started}); asked of the catalog first, since ALTER TABLE locks the table even when it adds nothing,
     * and only once per process for each database and schema ({@link #STAMPED_SCHEMAS}), not on every lease operation.
     */
    private static void addStartStampColumn(Connection c, LeaseSettings s) throws SQLException {
        String stamped = s.jdbcUrl() + "|" + s.schema();
        if (STAMPED_SCHEMAS.contains(stamped)) {
            return;
        }
        if (!hasStartStampColumn(c, s)) {
            try (Statement st = c.createStatement()) {
                st.execute("ALTER TABLE " + table(s) + " ADD COLUMN IF NOT EXISTS process_start_stamp text");
            } catch (SQLException e) {
                if (!"23505".equals(e.getSQLState()) && !"42701".equals(e.getSQLState())) { // another holder added it meanwhile
                    throw e;
                }
            }
        }
        STAMPED_SCHEMAS.add(stamped);
    }

    private static boolean hasStartStampColumn(Connection c, LeaseSettings s) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM information_schema.columns"
                + " WHERE table_schema = ? AND table_name = 'job_leases' AND column_name = 'process_start_stamp'")) {
            p.setString(1, s.schema());
            try (ResultSet r = p.executeQuery()) {
                return r.next();
            }
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown-host";
        }
    }

    /**
     * The holder's own connection: a pool of exactly one, kept open and checked on use (a connection PostgreSQL dropped,
     * e.g. on a restart, is replaced), with the PostgreSQL driver named so that no DriverManager lookup is needed.
     */
    private static HikariDataSource keptConnection(LeaseSettings s) {
        HikariConfig c = new HikariConfig();
        c.setPoolName("job-lease " + s.name());
        c.setDriverClassName(org.postgresql.Driver.class.getName());
        c.setJdbcUrl(s.jdbcUrl());
        c.setUsername(s.user());
        if (s.password() != null && !s.password().isEmpty()) {
            c.setPassword(s.password());
        }
        c.addDataSourceProperty("ApplicationName", "csr-job-lease");
        c.addDataSourceProperty("connectTimeout", "5");
        c.setMaximumPoolSize(1);
        c.setMinimumIdle(1);
        c.setAutoCommit(true);
        // a renewal waits at most this long for PostgreSQL, then the next one tries again
        c.setConnectionTimeout(Math.max(250, Math.min(5_000, s.renewEveryMs())));
        c.setInitializationFailTimeout(-1);
        return new HikariDataSource(c);
    }

    /** This JVM's hold on one lease: a count, the renewal thread and the connection it renews over. */
    private static final class Held {
        private final LeaseSettings settings;
        private final HikariDataSource connection;
        private final ScheduledExecutorService renewal;
        private final Thread shutdownHook;
        private int count;
        private String jobId;
        private String lost;

        Held(LeaseSettings settings) {
            this.settings = settings;
            this.connection = keptConnection(settings);
            this.renewal = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "job-lease-renewal " + settings.name());
                t.setDaemon(true);
                return t;
            });
            renewal.scheduleWithFixedDelay(() -> renew(settings, jobId, connection), settings.renewEveryMs(), settings.renewEveryMs(), TimeUnit.MILLISECONDS);
            // SIGTERM (bin/csr stop): give the lease back, so the next start need not wait for it to lapse
            this.shutdownHook = new Thread(() -> release(settings, connection), "job-lease-release " + settings.name());
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }

        void stop() {
            renewal.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook releases it
                return;
            }
            release(settings, connection);
            connection.close();
        }
    }
}
