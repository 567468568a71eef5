package io.csr.job.cluster;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.migrate.Migration;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.common.config.CsrConfig;
import io.csr.job.cluster.node.ClickHouseNode;
import io.csr.job.testing.ClickHouseClusterExtension;
import io.csr.job.testing.ClickHouseClusterFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The replicated layout's migrations on a real 1 shard x 2 replicas cluster (18.16 here): every table exists on both
 * servers as a replicated local table with a Distributed table over it, the ledger is the same on both, a second run
 * (two at once, under the lock) applies nothing.
 */
class ReplicatedMigrationsITCase {
    @RegisterExtension
    static final ClickHouseClusterExtension clickhouse = new ClickHouseClusterExtension("it_mig_", 1, 2);

    @Test
    void everyTableIsReplicatedOnBothServersAndTheLedgerIsShared() throws Exception {
        ClickHouseClusterFixture cluster = clickhouse.cluster();
        String db = "csr_it_mig";
        List<Migration> files;
        try (ClickHouseAccess ch = ClickHouseAccess.open(cluster.settings(db))) {
            List<Migration> applied = Migrations.clickHouse(ch, Migrations.sqlRoot(), System.out::println).migrate();
            files = Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).files();
            assertThat(applied).hasSameSizeAs(files);
            PostgresSettings pg = PostgresSettings.from(CsrConfig.fromEnvironment());
            // two runners at once, as two operators might: the lock lets one apply, the other finds nothing to do
            CompletableFuture<List<Migration>> a = CompletableFuture.supplyAsync(() -> Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }, pg).migrate());
            CompletableFuture<List<Migration>> b = CompletableFuture.supplyAsync(() -> Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }, pg).migrate());
            assertThat(a.get()).isEmpty();
            assertThat(b.get()).isEmpty();
        }
        for (ClickHouseNode server : cluster.servers) {
            try (ClickHouseAccess local = cluster.direct(server, db)) {
                assertThat(local.queryLong("SELECT count() AS c FROM schema_migrations_local FINAL")).as(server.name()).isEqualTo(files.size());
                List<String> engines = local.query("SELECT name, engine FROM system.tables WHERE database = '" + db + "' ORDER BY name")
                        .stream().map(r -> r.get("name").asText() + " " + r.get("engine").asText()).toList();
                assertThat(engines).as(server.name()).contains(
                        "events Distributed", "events_local ReplicatedReplacingMergeTree",
                        "metric_windows Distributed", "metric_windows_local ReplicatedReplacingMergeTree",
                        "metrics_timeseries_local ReplicatedReplacingMergeTree", "sink_commits_local ReplicatedReplacingMergeTree",
                        "user_daily_metrics_local ReplicatedReplacingMergeTree", "user_cohorts Distributed",
                        "schema_migrations Distributed", "schema_migrations_local ReplicatedReplacingMergeTree",
                        "user_month_masks Distributed", "user_month_masks_local ReplicatedMergeTree");
                // 010's added columns reached the local table and the Distributed one on every server
                assertThat(local.queryLong("SELECT count() AS c FROM system.columns WHERE database = '" + db + "' AND table IN"
                        + " ('cohort_month_metrics', 'cohort_month_metrics_local') AND name IN ('day_keys', 'day_counts', 'day_sum_keys', 'day_sums')"))
                        .as(server.name()).isEqualTo(8);
                // 005 dropped the insert-time rollups everywhere, local tables included
                assertThat(engines).as(server.name()).noneMatch(e -> e.startsWith("hourly_metrics") || e.startsWith("daily_event_counts"));
            }
        }
    }
}
