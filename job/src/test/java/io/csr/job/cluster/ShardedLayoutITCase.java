package io.csr.job.cluster;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.job.cluster.node.ClickHouseNode;
import io.csr.job.retention.PartitionRetention;
import io.csr.job.retention.RetentionOptions;
import io.csr.job.testing.ClickHouseClusterExtension;
import io.csr.job.testing.ClickHouseClusterFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The 2-shard layout (2 shards x 1 replica, as {@code csr cluster up --ha --shards 2 --replicas 1}): a company's rows
 * live on exactly one shard, a cohort-style join through the Distributed tables answers what the same data answers on
 * one server, and retention drops old months on every shard's local tables (a Distributed table has no parts).
 */
class ShardedLayoutITCase {
    private static final int COMPANIES = 40;
    private static final Clock NOV_2026 = Clock.fixed(Instant.parse("2026-11-27T01:00:00Z"), ZoneOffset.UTC);

    @RegisterExtension
    static final ClickHouseClusterExtension clickhouse = new ClickHouseClusterExtension("it_shard_", 2, 1);

    @Test
    void companiesStayOnOneShardJoinsMatchOneServerAndRetentionReachesEveryShard() throws Exception {
        ClickHouseClusterFixture cluster = clickhouse.cluster();
        String db = "csr_it_shard_" + Long.toHexString(System.nanoTime() & 0xffffff);
        ClickHouseSettings single = ClickHouseSettings.from(CsrConfig.fromEnvironment()).withDatabase(db);
        try (ClickHouseAccess ch = ClickHouseAccess.open(cluster.settings(db)); ClickHouseAccess one = ClickHouseAccess.open(single)) {
            for (ClickHouseAccess target : List.of(ch, one)) {
                target.createDatabaseIfMissing();
                Migrations.clickHouse(target, Migrations.sqlRoot(), s -> { }).migrate();
                fill(target);
            }

            // every company on exactly one shard, and both shards used
            List<Set<String>> perShard = new ArrayList<>();
            for (ClickHouseNode server : cluster.servers) {
                Set<String> companies = new HashSet<>();
                server.query("SELECT DISTINCT company_id FROM " + db + ".metrics_timeseries_local").forEach(r -> companies.add(r.get("company_id").asText()));
                perShard.add(companies);
            }
            assertThat(perShard).allMatch(s -> !s.isEmpty());
            assertThat(perShard.get(0)).doesNotContainAnyElementsOf(perShard.get(1));
            assertThat(perShard.get(0).size() + perShard.get(1).size()).isEqualTo(COMPANIES);

            // the /cohort/top shape: observations of a cohort's members, ALL INNER JOIN, per cohort — through the
            // Distributed tables (distributed_product_mode=local) exactly what one server answers
            String top = "SELECT company_id, cohort_id, count() AS n, round(avg(value), 6) AS a FROM "
                    + "(SELECT company_id, user_id, value FROM metrics_timeseries FINAL WHERE metric = 'sroi') "
                    + "ALL INNER JOIN (SELECT company_id, user_id, cohort_id FROM user_cohorts FINAL WHERE active = 1) "
                    + "USING (company_id, user_id) GROUP BY company_id, cohort_id ORDER BY company_id, cohort_id";
            assertThat(ch.query(top)).hasSize(COMPANIES * 2).isEqualTo(one.query(top));
            assertThat(ch.queryLong("SELECT count() FROM metrics_timeseries FINAL")).isEqualTo(one.queryLong("SELECT count() FROM metrics_timeseries FINAL"));

            // retention: months before 2025-11 go on both shards, 2026-04 stays
            PartitionRetention.Report report = new PartitionRetention(ch, new RetentionOptions(13, 6, Duration.ofHours(1), true), NOV_2026).runOnce();
            assertThat(report.failures()).isEmpty();
            for (ClickHouseNode server : cluster.servers) {
                List<String> months = server.query("SELECT DISTINCT partition FROM system.parts WHERE database = '" + db
                        + "' AND table = 'metrics_timeseries_local' AND active ORDER BY partition").stream().map(r -> r.get("partition").asText()).toList();
                assertThat(months).as(server.name()).containsExactly("202604");
            }
            ch.dropDatabase();
            one.dropDatabase();
        }
    }

    /** 40 companies, 2 cohorts each, 10 users, observations in an old month (2024-01) and a kept one (2026-04). */
    private static void fill(ClickHouseAccess ch) {
        List<Map<String, Object>> observations = new ArrayList<>();
        List<Map<String, Object>> memberships = new ArrayList<>();
        for (int c = 0; c < COMPANIES; c++) {
            String company = "co-" + c;
            for (int u = 0; u < 10; u++) {
                for (String ts : List.of("2024-01-15 10:00:00", "2026-04-15 10:00:00")) {
                    observations.add(row("company_id", company, "metric", "sroi", "user_id", "u" + u, "ts", ts,
                            "value", c * 10 + u + 0.25, "event_id", company + "-" + u + "-" + ts.substring(0, 4)));
                }
                memberships.add(row("cohort_id", 1, "company_id", company, "user_id", "u" + u, "active", 1, "version", 1));
                if (u % 3 == 0) {
                    memberships.add(row("cohort_id", 2, "company_id", company, "user_id", "u" + u, "active", 1, "version", 1));
                }
            }
        }
        ch.insertRows("metrics_timeseries", observations);
        ch.insertRows("user_cohorts", memberships);
    }

    private static Map<String, Object> row(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }
}
