package io.csr.common.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.time.Duration;

/**
 * A bounded PostgreSQL connection pool (HikariCP), the JDBC client a process builds once and passes to whatever reads
 * or writes PostgreSQL (STYLE habit 7). At most {@code POSTGRES_POOL_SIZE} connections are open whatever the load: a
 * request that finds them all busy waits up to {@code POSTGRES_POOL_TIMEOUT_MS} for one and then fails with
 * {@link java.sql.SQLTransientConnectionException} (answered 503), so a burst can no longer take PostgreSQL's
 * {@code max_connections} from the job's replication reader. The pool starts even while PostgreSQL is down (connections
 * are made when it is back).
 */
public final class PostgresPool {
    private PostgresPool() {
    }

    /** Size and wait of a pool. */
    public record Options(int maxSize, Duration connectionTimeout) {
        public Options {
            if (maxSize < 1) {
                throw new IllegalArgumentException("POSTGRES_POOL_SIZE=" + maxSize + " must be at least 1");
            }
            if (connectionTimeout.toMillis() < 250) {
                throw new IllegalArgumentException("POSTGRES_POOL_TIMEOUT_MS=" + connectionTimeout.toMillis() + " must be at least 250 (HikariCP's minimum)");
            }
        }

        public static Options from(CsrConfig config) {
            return new Options((int) config.getLong(ConfigKey.POSTGRES_POOL_SIZE, 1, 1_000),
                    Duration.ofMillis(config.getLong(ConfigKey.POSTGRES_POOL_TIMEOUT_MS, 250, 600_000)));
        }
    }

    /**
     * Opens the pool; {@code name} shows in HikariCP's log lines and threads. Connections carry the settings' schema as
     * {@code currentSchema} and {@code ApplicationName=csr} unless the URL names one (the URL's parameters win).
     */
    public static HikariDataSource open(PostgresSettings settings, Options options, String name) {
        HikariConfig c = new HikariConfig();
        c.setPoolName(name);
        c.setJdbcUrl(settings.url());
        c.setUsername(settings.user());
        if (settings.password() != null && !settings.password().isEmpty()) {
            c.setPassword(settings.password());
        }
        c.addDataSourceProperty("currentSchema", settings.schema());
        c.addDataSourceProperty("connectTimeout", "5");
        c.addDataSourceProperty("ApplicationName", "csr");
        c.setMaximumPoolSize(options.maxSize());
        c.setMinimumIdle(Math.min(2, options.maxSize()));
        c.setConnectionTimeout(options.connectionTimeout().toMillis());
        c.setIdleTimeout(Duration.ofMinutes(5).toMillis());
        c.setInitializationFailTimeout(-1); // start without PostgreSQL; /health says it is down
        return new HikariDataSource(c);
    }
}
