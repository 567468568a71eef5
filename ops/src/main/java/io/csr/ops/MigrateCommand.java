package io.csr.ops;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migration;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;

import java.util.List;

/** {@code csr migrate}: applies pending ClickHouse and PostgreSQL migrations, in order, recorded and verified. */
final class MigrateCommand implements Main.Command {
    @Override
    public String summary() {
        return "apply pending migrations to ClickHouse and PostgreSQL";
    }

    @Override
    public int run(CsrConfig config, String[] args) {
        migrateAll(config);
        return 0;
    }

    static void migrateAll(CsrConfig config) {
        try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            report("clickhouse", Migrations.clickHouse(ch, Migrations.sqlRoot(), Progress.PRINT).migrate());
        }
        report("postgres", Migrations.postgres(PostgresSettings.from(config), Migrations.sqlRoot(), Progress.PRINT).migrate());
    }

    private static void report(String kind, List<Migration> applied) {
        if (applied.isEmpty()) {
            System.out.println("    " + kind + ": up to date");
        } else {
            System.out.println("    " + kind + ": applied " + applied.size() + " migration(s)");
        }
    }
}
