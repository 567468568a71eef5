package io.csr.common.postgres;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.regex.Pattern;

/** PostgreSQL connection settings; connections open with {@code search_path} set to the project's schema. */
public record PostgresSettings(String url, String user, String password, String schema) {
    private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    public PostgresSettings {
        if (url == null || !url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("POSTGRES_URL='" + url + "' must be a JDBC URL like jdbc:postgresql://127.0.0.1:5432/test");
        }
        if (!SCHEMA.matcher(schema).matches()) {
            throw new IllegalArgumentException("POSTGRES_SCHEMA='" + schema + "' must be a lower-case identifier ([a-z_][a-z0-9_]*)");
        }
    }

    public static PostgresSettings from(CsrConfig config) {
        return new PostgresSettings(config.get(ConfigKey.POSTGRES_URL), config.get(ConfigKey.POSTGRES_USER),
                config.get(ConfigKey.POSTGRES_PASSWORD), config.get(ConfigKey.POSTGRES_SCHEMA));
    }

    public PostgresSettings withSchema(String otherSchema) {
        return new PostgresSettings(url, user, password, otherSchema);
    }

    /** A new connection; the caller closes it. */
    public Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null && !password.isEmpty()) {
            p.setProperty("password", password);
        }
        p.setProperty("currentSchema", schema);
        p.setProperty("connectTimeout", "5");
        p.setProperty("ApplicationName", "csr");
        return DriverManager.getConnection(url, p);
    }

    /** {@link #connect()} for callers that cannot throw checked exceptions. */
    public Connection connectUnchecked() {
        try {
            return connect();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot connect to PostgreSQL at " + url + " as " + user + ": " + e.getMessage()
                    + " (is it running? check POSTGRES_URL or run bin/csr up)", e);
        }
    }
}
