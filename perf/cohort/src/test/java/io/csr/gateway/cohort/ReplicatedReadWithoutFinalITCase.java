package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.migrate.Migrations;
import io.csr.common.userdays.UserDailyMetrics;
import io.csr.gateway.cohort.CohortParams.DateRange;
import io.csr.perf.cohort.ClusterProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.csr.gateway.TestRows.row;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ReadParts} on the replicated layout (2 shards × 2 replicas, CLICKHOUSE_CLUSTER, ZooKeeper; the cluster the job
 * module's orchestration starts, in a process of its own): a month that is one merged part on every replica of every
 * shard is read without FINAL, with the answers of a read with FINAL everywhere, for every endpoint (metrics, overview,
 * trends by day, week and month, compare, top), from the observations and from the per-user days, for a company on
 * each shard. Four states: each month in two parts (an original and a replayed copy: FINAL); merged on every replica
 * (without FINAL); a replayed copy in May on the second replica of shard 1 only, which the first replica has not
 * fetched, read through a client of that second replica (its reads of shard 1 stay on it: FINAL there, so the
 * replica the reads reach counts, not the first); and a copy that arrives between the parts read and the query
 * (read again with FINAL).
 *
 * <p>In package {@code io.csr.gateway.cohort} to reach {@link CohortQueries} (package-private) as the one-server
 * {@code CohortReadWithoutFinalITCase} does; here because the cluster comes from the job module's test classes, which
 * only perf/cohort may start (a process of its own, as {@code ShardedCohortEndpointsITCase}).
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ReplicatedReadWithoutFinalITCase {
    private static final List<DateRange> RANGES = List.of(new DateRange(LocalDate.parse("2031-05-01"), LocalDate.parse("2031-06-30")),
            new DateRange(LocalDate.parse("2031-05-10"), LocalDate.parse("2031-05-20")),
            new DateRange(LocalDate.parse("2031-06-03"), LocalDate.parse("2031-06-28")));
    private static final List<String> TABLES = List.of("metrics_timeseries_local", "user_daily_metrics_local");
    private static final String MAY = "ts >= toDateTime('2031-05-01 00:00:00') AND ts < toDateTime('2031-05-15 00:00:00')";
    /** Replayed copies must land: a replicated table drops an INSERT of a block it has seen (same rows, same order). */
    private static final Map<String, String> NO_DEDUPLICATION = Map.of("insert_deduplicate", "0");

    @TempDir
    Path tmp;

    private final List<ClickHouseAccess> servers = new ArrayList<>(); // s1r1, s1r2, s2r1, s2r2: their local tables
    private ClickHouseAccess ch; // through s1r1, the cluster's tables
    private ClickHouseAccess viaSecond; // through s1r2: its reads of shard 1 stay on it
    private final List<Map<String, Object>> observations = new ArrayList<>();
    private final Map<String, Long> memberSroi = new LinkedHashMap<>();

    @Test
    void monthsMergedOnEveryReplicaAreReadWithoutFinalWithTheAnswersOfFinal() throws Exception {
        String ns = "it_rpf_" + UUID.randomUUID().toString().replace("-", "").substring(0, 8).toLowerCase(Locale.ROOT);
        Process cluster = ClusterProcess.start(tmp.resolve("cluster"), ns, 2, 2, tmp.resolve("cluster.log"));
        try {
            List<String> ready = ClusterProcess.awaitReady(cluster, 4, tmp.resolve("cluster.log"));
            ch = ClickHouseAccess.open(new ClickHouseSettings(ready.get(1), "default", "", ns, false, 60_000, ready.get(0)));
            viaSecond = ClickHouseAccess.open(new ClickHouseSettings(ready.get(2), "default", "", ns, false, 60_000, ready.get(0)));
            try {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                for (String url : ready.subList(1, ready.size())) {
                    servers.add(ClickHouseAccess.open(new ClickHouseSettings(url, "default", "", ns, false, 60_000)));
                }
                run();
            } finally {
                ch.dropDatabase();
                for (ClickHouseAccess c : servers) {
                    c.close();
                }
                viaSecond.close();
                ch.close();
            }
        } catch (Throwable t) {
            System.err.println("cluster log:\n" + Files.readString(tmp.resolve("cluster.log")));
            throw t;
        } finally {
            ClusterProcess.stop(cluster);
        }
    }

    private void run() {
        // background merges would merge the two parts of a month at a moment of their choosing; the test merges itself
        onEveryServer("SYSTEM STOP MERGES");
        List<String> companies = new ArrayList<>();
        for (int c = 0; companies.size() < 2; c++) { // one company on each shard (cityHash64(company_id) % 2)
            String company = "co" + c;
            long shard = ch.queryLong("SELECT cityHash64('" + company + "') % 2 AS s");
            if (companies.size() == shard) {
                companies.add(company);
            }
        }
        List<Map<String, Object>> cohorts = new ArrayList<>();
        List<Map<String, Object>> members = new ArrayList<>();
        for (String company : companies) {
            cohorts.add(row("id", 31, "company_id", company, "name", "alpha", "description", "", "created_at", "2026-01-01 00:00:00",
                    "updated_at", "2026-01-01 00:00:00", "deleted", 0, "version", 1));
            cohorts.add(row("id", 32, "company_id", company, "name", "beta", "description", "", "created_at", "2026-01-01 00:00:00",
                    "updated_at", "2026-01-01 00:00:00", "deleted", 0, "version", 1));
            for (String[] m : new String[][] {{"31", "u1"}, {"31", "u2"}, {"31", "u3"}, {"32", "u2"}, {"32", "u4"}}) {
                members.add(row("cohort_id", Long.parseLong(m[0]), "company_id", company, "user_id", m[1], "joined_at", "2026-01-01 00:00:00",
                        "left_at", "0000-00-00 00:00:00", "active", 1, "version", 1));
            }
            observe(company);
        }
        ch.insertRows("cohorts", cohorts);
        ch.insertRows("user_cohorts", members);
        ch.insertRows("metrics_timeseries", observations);
        // a replayed batch of each company: the same rows again, a part of its own on each shard
        List<Map<String, Object>> replayed = new ArrayList<>();
        for (String company : companies) {
            replayed.addAll(observations.stream().filter(o -> o.get("company_id").equals(company)).limit(5).toList());
        }
        ch.insertRows("metrics_timeseries", replayed);
        fillUserDays(ch, "1");
        fillUserDays(ch, "1"); // a replayed recomputation: the same daily rows again
        syncReplicas();
        assertThat(servers.get(0).queryLong("SELECT count() AS c FROM metrics_timeseries_local WHERE company_id = '" + companies.get(0) + "'"))
                .as("%s on shard 1", companies.get(0)).isPositive();

        CohortQueries reference = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, null, false);
        List<CohortQueries> read = readers(ch);
        assertAllSame("two parts a month", companies, reference, read);
        assertThat(read.stream().mapToLong(CohortQueries::answeredWithoutFinal).sum()).as("a month of two parts is read with FINAL").isZero();

        merge();
        assertAllSame("one merged part a month on every replica", companies, reference, read);
        long answers = (long) RANGES.size() * 7 * companies.size();
        for (CohortQueries q : read) {
            assertThat(q.answeredWithoutFinal()).as("every answer read without FINAL").isEqualTo(answers);
        }

        // shard 1's second replica takes a replayed copy of May that its first replica does not fetch: a read through
        // the second replica reaches it for shard 1 and must keep FINAL for May; June stays one merged part everywhere
        for (String table : TABLES) {
            servers.get(0).execute("SYSTEM STOP REPLICATION QUEUES " + table);
        }
        String shardOne = "company_id = '" + companies.get(0) + "'";
        servers.get(1).execute("INSERT INTO metrics_timeseries_local SELECT * FROM metrics_timeseries_local WHERE " + shardOne + " AND " + MAY,
                NO_DEDUPLICATION);
        servers.get(1).execute("INSERT INTO user_daily_metrics_local SELECT * FROM user_daily_metrics_local WHERE " + shardOne
                + " AND day < toDate('2031-05-15')", NO_DEDUPLICATION);
        assertThat(partsOn(servers.get(1), "203105")).as("May on shard 1's second replica").isEqualTo(4);
        assertThat(partsOn(servers.get(0), "203105")).as("May on shard 1's first replica").isEqualTo(2);
        CohortQueries secondReference = new CohortQueries(viaSecond, new MembershipCache(viaSecond, 0), CohortQueries.Source.OBSERVATIONS, null, false);
        List<CohortQueries> second = readers(viaSecond);
        assertAllSame("a copy of May on the replica the reads reach", companies, secondReference, second);
        assertAllSame("a copy of May on the other replica", companies, reference, read);
        for (CohortQueries q : second) {
            assertThat(q.answeredWithoutFinal()).as("only June's range read without FINAL").isEqualTo(7L * companies.size());
        }
        for (String table : TABLES) {
            servers.get(0).execute("SYSTEM START REPLICATION QUEUES " + table);
        }
        syncReplicas();
        merge();

        // a replayed copy arrives after the parts were read: the read without FINAL would count it twice
        CohortQueries.CohortRef one = reference.find(31, List.of(companies.get(0))).orElseThrow();
        DateRange all = RANGES.get(0);
        long without = read.get(0).answeredWithoutFinal();
        int copy = 0;
        for (CohortQueries q : read.subList(0, 2)) {
            long before = q.answeredWithoutFinal();
            List<Map<String, Object>> again = observations.subList(copy, copy + 1); // a block of its own each time
            copy++;
            q.afterPartsRead = () -> {
                ch.insertRows("metrics_timeseries", again);
                fillUserDays(ch, "company_id = '" + companies.get(0) + "'");
                q.afterPartsRead = () -> { };
            };
            assertThat(q.metrics(one, "sroi", all).count()).as("read again with FINAL after the parts moved")
                    .isEqualTo(memberSroi.get(companies.get(0)));
            assertThat(q.answeredWithoutFinal()).isEqualTo(before);
            syncReplicas();
            merge();
        }
        assertThat(read.get(0).answeredWithoutFinal()).isEqualTo(without);
        assertAllSame("merged again", companies, reference, read);
    }

    private static List<CohortQueries> readers(ClickHouseAccess c) {
        return List.of(new CohortQueries(c, new MembershipCache(c, 1_000), CohortQueries.Source.OBSERVATIONS, null, true),
                new CohortQueries(c, new MembershipCache(c, 1_000), CohortQueries.Source.USER_DAYS, null, true),
                new CohortQueries(c, new MembershipCache(c, 0), CohortQueries.Source.OBSERVATIONS, null, true));
    }

    /** sroi and hours of u1..u4 (u1..u3 in cohort 31, u2 and u4 in 32) and u9 (no cohort), every other day of May and June 2031. */
    private void observe(String company) {
        String[] users = {"u1", "u2", "u3", "u4", "u9"};
        int n = 0;
        long member = 0;
        for (LocalDate d = LocalDate.parse("2031-05-02"); !d.isAfter(LocalDate.parse("2031-06-28")); d = d.plusDays(2)) {
            for (int u = 0; u < users.length; u++) {
                if ((d.getDayOfMonth() + u) % 3 == 0) {
                    continue;
                }
                double value = ((d.getDayOfYear() * 31 + u * 7 + company.length()) % 89) / 3.0 - 4;
                observations.add(row("company_id", company, "metric", "sroi", "user_id", users[u], "ts", d + " 09:1" + u + ":00", "ts_ms", 0,
                        "value", value, "event_id", company + "-" + n++));
                member += u <= 2 ? 1 : 0;
                if (u % 2 == 1) {
                    observations.add(row("company_id", company, "metric", "hours", "user_id", users[u], "ts", d + " 20:00:00", "ts_ms", 0,
                            "value", value + 3, "event_id", company + "-" + n++));
                }
            }
        }
        memberSroi.put(company, member);
    }

    private static void fillUserDays(ClickHouseAccess c, String companies) {
        c.execute("INSERT INTO user_daily_metrics (" + UserDailyMetrics.COLUMNS + ") " + UserDailyMetrics.recompute(companies
                + " AND ts >= toDateTime('2031-05-01 00:00:00') AND ts < toDateTime('2031-07-01 00:00:00')"), NO_DEDUPLICATION);
    }

    private void onEveryServer(String command) {
        for (ClickHouseAccess c : servers) {
            for (String table : TABLES) {
                c.execute(command + " " + table);
            }
        }
    }

    /** Every replica has executed its replication queue (fetched what its peer wrote, merged what it merged). */
    private void syncReplicas() {
        onEveryServer("SYSTEM SYNC REPLICA");
    }

    /** Active parts of both local tables in the month on one server. */
    private static long partsOn(ClickHouseAccess server, String month) {
        return server.queryLong("SELECT count() AS c FROM system.parts WHERE database = '" + server.database() + "' AND active AND table IN ("
                + "'metrics_timeseries_local', 'user_daily_metrics_local') AND partition_id = '" + month + "'");
    }

    /** Each month of both tables merged into one part on each shard's leader, fetched or merged alike by its other replica. */
    private void merge() {
        onEveryServer("SYSTEM START MERGES");
        for (ClickHouseAccess c : List.of(servers.get(0), servers.get(2))) {
            for (String table : TABLES) {
                for (String month : List.of("203105", "203106")) {
                    c.execute("OPTIMIZE TABLE " + table + " PARTITION " + month + " FINAL");
                }
            }
        }
        syncReplicas();
        onEveryServer("SYSTEM STOP MERGES");
        for (ClickHouseAccess c : servers) {
            assertThat(c.queryLong("SELECT count() AS c FROM system.parts WHERE database = '" + c.database() + "' AND active"
                    + " AND table IN ('metrics_timeseries_local', 'user_daily_metrics_local') AND partition_id IN ('203105', '203106')"
                    + " AND level > 0")).as("one merged part per month and table on every replica").isEqualTo(4);
            assertThat(partsOn(c, "203105") + partsOn(c, "203106")).as("and no other").isEqualTo(4);
        }
    }

    /** Seven answers per range, company and instance: metrics, overview, trends by day, week and month, compare, top. */
    private void assertAllSame(String what, List<String> companies, CohortQueries reference, List<CohortQueries> read) {
        for (String company : companies) {
            CohortQueries.CohortRef one = reference.find(31, List.of(company)).orElseThrow();
            for (DateRange r : RANGES) {
                for (CohortQueries q : read) {
                    CohortAnswers.assertSevenSame(q, reference, one, company, r, what + " " + company + " " + r);
                }
            }
            assertThat(reference.metrics(one, "sroi", RANGES.get(0)).count()).as("each copy counted once").isEqualTo(memberSroi.get(company));
        }
    }
}
