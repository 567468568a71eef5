package io.csr.common.migrate;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/** PostgreSQL: each migration runs in one transaction under an advisory lock, so concurrent runners serialize. */
public final class PostgresMigrationTarget implements MigrationTarget {
    private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final long LOCK_KEY = 0x4353525f4d4947L; // "CSR_MIG"

    private final Supplier<Connection> connections;
    private final String schema;
    private final String url;

    /**
     * @param connections opens a new connection (the caller's pool or {@code DriverManager}); closed here after use
     * @param schema      lower-case schema name holding the tables and the ledger
     */
    public PostgresMigrationTarget(Supplier<Connection> connections, String schema, String url) {
        if (!SCHEMA.matcher(schema).matches()) {
            throw new MigrationException("POSTGRES_SCHEMA='" + schema + "' is not a plain lower-case identifier ([a-z_][a-z0-9_]*)");
        }
        this.connections = connections;
        this.schema = schema;
        this.url = url;
    }

    @Override
    public String kind() {
        return "postgres";
    }

    @Override
    public String describe() {
        return url + " schema " + schema;
    }

    @Override
    public void prepare() {
        try (Connection c = connections.get(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
            st.execute("CREATE TABLE IF NOT EXISTS " + schema + ".schema_migrations (version integer PRIMARY KEY, "
                    + "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL)");
        } catch (SQLException e) {
            throw new MigrationException("cannot prepare schema_migrations on " + describe() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Map<Integer, AppliedMigration> applied() {
        Map<Integer, AppliedMigration> out = new TreeMap<>();
        try (Connection c = connections.get(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                     + "FROM " + schema + ".schema_migrations ORDER BY version")) {
            while (rs.next()) {
                out.put(rs.getInt(1), new AppliedMigration(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4)));
            }
        } catch (SQLException e) {
            throw new MigrationException("cannot read schema_migrations on " + describe() + ": " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public void apply(Migration migration) {
        long start = System.currentTimeMillis();
        try (Connection c = connections.get()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")");
                st.execute("SET LOCAL search_path TO " + schema);
                try (PreparedStatement check = c.prepareStatement("SELECT 1 FROM schema_migrations WHERE version = ?")) {
                    check.setInt(1, migration.version());
                    try (ResultSet rs = check.executeQuery()) {
                        if (rs.next()) {
                            c.rollback(); // another runner applied it while we waited for the lock
                            return;
                        }
                    }
                }
                for (String statement : migration.statements()) {
                    st.execute(statement);
                }
                try (PreparedStatement record = c.prepareStatement(
                        "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES (?, ?, ?, ?)")) {
                    record.setInt(1, migration.version());
                    record.setString(2, migration.name());
                    record.setString(3, migration.checksum());
                    record.setLong(4, System.currentTimeMillis() - start);
                    record.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new MigrationException(e.getMessage(), e);
        }
    }
}
