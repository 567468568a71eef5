package io.csr.ops;

import io.csr.common.cli.CsrCommand;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.MigrationRunner;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.Nats;
import io.nats.client.api.StreamInfo;

import picocli.CommandLine.Command;

import java.util.List;

/** {@code csr status}: services, the JetStream stream, and every migration's state. Exit 3 when something is down. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Every service (up/down, address, version), the event stream and each migration; exit 3 when something is down.")
final class StatusCommand extends CsrCommand {
    @Override
    public Integer call() {
        return print(config()) ? 0 : 3;
    }

    static boolean print(CsrConfig config) {
        List<Services.Probe> probes = Services.probeAll(config);
        Table services = new Table("SERVICE", "STATE", "ADDRESS", "VERSION", "MS", "DETAIL");
        boolean allUp = true;
        for (Services.Probe p : probes) {
            services.row(p.name(), p.up() ? "up" : "DOWN", p.address(), p.version(), p.millis(), p.detail());
            allUp &= p.up();
        }
        System.out.println("Services");
        System.out.print(services.render());

        if (probes.get(0).up()) {
            System.out.println("Event stream");
            System.out.print(streamTable(config).render());
        }

        Table migrations = new Table("DATABASE", "MIGRATION", "STATE", "APPLIED AT (UTC)");
        if (probes.get(3).up()) {
            try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
                addMigrations(migrations, Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }));
            }
        } else {
            migrations.row("clickhouse", "-", "unknown: ClickHouse is down");
        }
        if (probes.get(2).up()) {
            addMigrations(migrations, Migrations.postgres(PostgresSettings.from(config), Migrations.sqlRoot(), s -> { }));
        } else {
            migrations.row("postgres", "-", "unknown: PostgreSQL is down");
        }
        System.out.println("Migrations");
        System.out.print(migrations.render());
        if (!allUp) {
            System.out.println("Some services are down: run bin/csr up to start them.");
        }
        return allUp;
    }

    private static void addMigrations(Table table, MigrationRunner runner) {
        for (MigrationRunner.State s : runner.status()) {
            table.row(s.kind(), s.migration(), s.state(), s.appliedAt());
        }
    }

    private static Table streamTable(CsrConfig config) {
        Table t = new Table("STREAM", "STATE", "SUBJECTS", "MESSAGES", "BYTES", "LAST SEQ");
        String name = config.get(ConfigKey.NATS_STREAM);
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            StreamInfo info = nc.jetStreamManagement().getStreamInfo(name);
            t.row(name, "present", String.join(" ", info.getConfiguration().getSubjects()),
                    info.getStreamState().getMsgCount(), info.getStreamState().getByteCount(), info.getStreamState().getLastSequence());
        } catch (JetStreamApiException e) {
            t.row(name, "MISSING (bin/csr up creates it)");
        } catch (Exception e) {
            t.row(name, "unknown: " + e.getMessage());
        }
        return t;
    }
}
