package io.csr.ops;

import io.csr.common.cli.CsrCommand;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migration;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;

import picocli.CommandLine.Command;

import java.util.List;

/** {@code csr migrate}: applies pending ClickHouse and PostgreSQL migrations, in order, recorded and verified. */
@Command(name = "migrate", mixinStandardHelpOptions = true, description = "Apply pending migrations to ClickHouse and PostgreSQL.")
public final class MigrateCommand extends CsrCommand {
    @Override
    public Integer call() {
        migrateAll(config());
        return 0;
    }

    /** Applies every pending migration of the databases {@code config} names, printing what it did. */
    public static void migrateAll(CsrConfig config) {
        try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            report("clickhouse", Migrations.clickHouse(ch, Migrations.sqlRoot(), Progress.PRINT, PostgresSettings.from(config)).migrate());
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
