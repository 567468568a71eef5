package io.csr.job.cohort;

import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A test's own PostgreSQL database {@code csr_it_<purpose>_<random>} (not only a schema: the replication's outage test
 * renames the whole database away and back) with every migration of sql/postgres applied in schema {@code csr};
 * dropped on close. Server address from POSTGRES_URL (default: the local server).
 */
final class PostgresTestDatabase implements AutoCloseable {
    static final String SCHEMA = "csr";

    private final PostgresSettings admin;
    private final String name;
    private final PostgresSettings settings;

    PostgresTestDatabase(String purpose) throws SQLException {
        this.admin = PostgresSettings.from(CsrConfig.fromEnvironment());
        this.name = "csr_it_" + purpose + "_" + Long.toString(ThreadLocalRandom.current().nextLong(Long.MAX_VALUE), 36);
        adminExecute("CREATE DATABASE " + name);
        this.settings = new PostgresSettings(urlOf(name), admin.user(), admin.password(), SCHEMA);
        Migrations.postgres(settings, Migrations.sqlRoot(), line -> { }).migrate();
    }

    /** The server's URL with another database name, query parameters kept. */
    String urlOf(String database) {
        return admin.url().replaceFirst("^(jdbc:postgresql://[^/]+/)[^?]*", "$1" + database);
    }

    PostgresSettings settings() {
        return settings;
    }

    String name() {
        return name;
    }

    /** A connection to this database under {@code currentName} (what it is called right now). */
    Connection connect(String currentName) throws SQLException {
        return new PostgresSettings(urlOf(currentName), admin.user(), admin.password(), SCHEMA).connect();
    }

    /**
     * Renames the database; its sessions (the replication's included) are terminated first, again until the rename
     * wins the race against a reconnect.
     */
    void rename(String from, String to) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                adminExecute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + from + "' AND pid <> pg_backend_pid()");
                adminExecute("ALTER DATABASE " + from + " RENAME TO " + to);
                return;
            } catch (SQLException e) {
                if (attempt >= 50) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    void adminExecute(String sql) throws SQLException {
        try (Connection c = admin.connect(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    @Override
    public void close() throws SQLException {
        adminExecute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        adminExecute("DROP DATABASE IF EXISTS " + name + "_away WITH (FORCE)");
    }
}
