package io.csr.job.sink.clickhouse;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A test's own ClickHouse database {@code csr_it_<random>} with every migration of sql/clickhouse applied; dropped on
 * close. Service address from the environment (default: the local server bin/csr up starts).
 */
public final class ClickHouseTestDatabase implements AutoCloseable {
    private final ClickHouseSettings settings;
    private final ClickHouseAccess access;

    public ClickHouseTestDatabase(String purpose) {
        String name = "csr_it_" + purpose + "_" + Long.toString(ThreadLocalRandom.current().nextLong(Long.MAX_VALUE), 36);
        ClickHouseSettings base = ClickHouseSettings.from(CsrConfig.fromEnvironment());
        this.settings = base.withDatabase(name);
        this.access = ClickHouseAccess.open(settings);
        if (!access.ping()) {
            access.close();
            throw new IllegalStateException("ClickHouse does not answer at " + base.url() + "; start it with bin/csr up");
        }
        Migrations.clickHouse(access, Migrations.sqlRoot(), line -> { }).migrate();
    }

    public ClickHouseSettings settings() {
        return settings;
    }

    public ClickHouseAccess access() {
        return access;
    }

    public String name() {
        return settings.database();
    }

    public long count(String sql) {
        return access.queryLong(sql);
    }

    @Override
    public void close() {
        try {
            access.dropDatabase();
        } finally {
            access.close();
        }
    }
}
