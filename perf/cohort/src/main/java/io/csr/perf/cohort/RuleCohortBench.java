package io.csr.perf.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.cohort.rule.RuleCohorts;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rule-cohort part of {@code csr bench cohort}: {@code users} participants of company {@value CohortData#COMPANY}
 * in PostgreSQL, an {@code at_risk} journey history per user in ClickHouse {@code events} (beside the observations of
 * {@link CohortData}), then
 * <ul>
 *   <li><b>preview</b>: {@code POST /cohorts/preview} over HTTP for rules of every kind (attributes, flag, behaviour,
 *       activity, combinations), {@code requests} times each: p50/p95 per rule and over all;</li>
 *   <li><b>recompute</b>: {@code ruleCohorts} rule cohorts (the same kinds, values varied) recomputed in one scheduled
 *       pass ({@link RuleCohorts#refreshAllMeasured()}, with its time per phase): the first pass writes every membership, the second finds nothing to
 *       change (the steady state of the 15 s schedule).</li>
 * </ul>
 */
final class RuleCohortBench {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    static final List<String> PROGRAMMES = List.of("language", "mentoring", "buddy");
    static final List<String> GROUPS = List.of("de", "fr", "es", "uk", "ar");

    private RuleCohortBench() {
    }

    /** Rule templates; {@code %d} is replaced by a variant number so the cohorts of the recompute differ. */
    static List<String> templates() {
        return List.of(
                "{\"attr\":\"languageGroup\",\"in\":[\"%g\"]}",
                "{\"all\":[{\"attr\":\"programme\",\"in\":[\"%p\"]},{\"attr\":\"enrolledOn\",\"from\":\"2026-0%m-01\"}]}",
                "{\"flag\":\"at_risk\",\"state\":\"set\"}",
                "{\"all\":[{\"attr\":\"languageGroup\",\"in\":[\"%g\"]},{\"flag\":\"at_risk\"}]}",
                "{\"metric\":\"%x\",\"agg\":\"avg\",\"days\":30,\"op\":\">=\",\"value\":%v}",
                "{\"all\":[{\"attr\":\"outcome\",\"in\":[null]},{\"not\":{\"active\":{\"days\":%a}}}]}",
                "{\"any\":[{\"metric\":\"%x\",\"agg\":\"count\",\"days\":30,\"op\":\">=\",\"value\":3},{\"flag\":\"at_risk\",\"state\":\"ever\"}]}");
    }

    static String variant(String template, int k) {
        return template.replace("%g", GROUPS.get(k % GROUPS.size())).replace("%p", PROGRAMMES.get(k % PROGRAMMES.size()))
                .replace("%m", String.valueOf(1 + k % 9)).replace("%x", CohortData.METRICS.get(k % CohortData.METRICS.size()))
                .replace("%v", String.valueOf(40 + k % 20)).replace("%a", String.valueOf(1 + k % 14));
    }

    static Map<String, Object> run(ClickHouseAccess ch, PostgresSettings pg, RuleCohorts rules, String baseUrl, String token,
                                   int users, int requests, int ruleCohorts) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("participants", fillParticipants(pg, users));
        out.put("journeyEvents", fillJourneys(ch, users));

        Map<String, Object> preview = new LinkedHashMap<>();
        List<Double> all = new ArrayList<>();
        System.out.printf("%-12s %8s %8s %8s  (ms, POST /cohorts/preview, %d requests each)%n", "rule", "p50", "p95", "members", requests);
        List<String> templates = templates();
        for (int t = 0; t < templates.size(); t++) {
            String rule = variant(templates.get(t), 0);
            post(baseUrl, token, rule); // warm-up
            double[] ms = new double[requests];
            long members = 0;
            for (int i = 0; i < requests; i++) {
                long t0 = System.nanoTime();
                members = post(baseUrl, token, rule);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                all.add(ms[i]);
            }
            Arrays.sort(ms);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rule", rule);
            r.put("members", members);
            r.put("p50Ms", CohortBench.round(CohortBench.pct(ms, 0.5)));
            r.put("p95Ms", CohortBench.round(CohortBench.pct(ms, 0.95)));
            preview.put("rule" + (t + 1), r);
            System.out.printf("rule %-7d %8.1f %8.1f %8d  %s%n", t + 1, CohortBench.pct(ms, 0.5), CohortBench.pct(ms, 0.95), members, rule);
        }
        double[] sorted = all.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        preview.put("allP50Ms", CohortBench.round(CohortBench.pct(sorted, 0.5)));
        preview.put("allP95Ms", CohortBench.round(CohortBench.pct(sorted, 0.95)));
        System.out.printf("preview, all rules: p50 %.1f ms, p95 %.1f ms (goal p95 < 500 ms)%n", CohortBench.pct(sorted, 0.5), CohortBench.pct(sorted, 0.95));
        out.put("preview", preview);

        if (ruleCohorts > 0) {
            createRuleCohorts(pg, ruleCohorts);
            Map<String, Object> recompute = new LinkedHashMap<>();
            // earlier runs' stints stay (closed) in the schema, and the first pass inserts into their indexes
            long before = count(pg, "SELECT count(*) FROM user_cohorts");
            recompute.put("membershipRowsBefore", before);
            System.out.printf("user_cohorts holds %d rows (earlier runs' closed stints) before the first pass%n", before);
            long t0 = System.nanoTime();
            RuleCohorts.Pass firstPass = rules.refreshAllMeasured();
            double first = (System.nanoTime() - t0) / 1e9;
            long written = memberships(pg);
            t0 = System.nanoTime();
            RuleCohorts.Pass steadyPass = rules.refreshAllMeasured();
            double steady = (System.nanoTime() - t0) / 1e9;
            int n = firstPass.cohorts();
            recompute.put("ruleCohorts", n);
            recompute.put("firstPassSeconds", CohortBench.round(first));
            recompute.put("membershipsWritten", written);
            recompute.put("firstPassPhases", phases(firstPass));
            recompute.put("unchangedPassSeconds", CohortBench.round(steady));
            recompute.put("unchangedPassPhases", phases(steadyPass));
            System.out.printf("recompute of %d rule cohorts: first pass %.1f s (%d memberships written), unchanged pass %.1f s (goal < 60 s)%n",
                    n, first, written, steady);
            System.out.printf("  phases, s summed over cohorts (two in flight at a time): first pass %s; unchanged pass %s%n",
                    phases(firstPass), phases(steadyPass));
            out.put("recompute", recompute);
        }
        return out;
    }

    /** Participants u0…u(users-1), deterministic attributes; existing rows are kept. Returns the company's count. */
    static long fillParticipants(PostgresSettings pg, int users) throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on, left_on, outcome)"
                    + " SELECT 'bench', 'u' || i, (ARRAY['language','mentoring','buddy'])[1 + i % 3],"
                    + " CASE WHEN i % 3 = 0 THEN (ARRAY['de','fr','es','uk','ar'])[1 + (i / 3) % 5] END,"
                    + " date '2025-09-01' + (i % 400), CASE WHEN i % 7 = 0 THEN date '2025-09-01' + (i % 400) + 30 END,"
                    + " CASE WHEN i % 7 = 0 THEN (CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'dropped_out' END) END"
                    + " FROM generate_series(0, " + (users - 1) + ") AS i ON CONFLICT (company_id, user_id) DO NOTHING");
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM participants WHERE company_id = 'bench'")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Two at_risk journey events per user over 2026 (a set, then for every third user a clear); generated once. */
    static long fillJourneys(ClickHouseAccess ch, int users) {
        String where = " WHERE company_id = " + SqlLiteral.string(CohortData.COMPANY) + " AND event_type = 'journey'";
        long have = ch.queryLong("SELECT count() AS c FROM events" + where);
        if (have != 2L * users) {
            ch.execute("ALTER TABLE events DELETE" + where);
            String t = "(" + CohortData.YEAR_START + " + intHash32(number * 3 + 7) % " + CohortData.YEAR_SECONDS + " + (number % 2) * 86400)";
            ch.execute("INSERT INTO events (event_id, event_type, subject, company_id, user_id, occurred_at, occurred_at_ms, payload, stream_seq, ingested_at)"
                    + " SELECT concat('j', toString(number)), 'journey', 'journey.at_risk', " + SqlLiteral.string(CohortData.COMPANY) + ","
                    + " concat('u', toString(intDiv(number, 2))), toDateTime(" + t + "), " + t + " * 1000,"
                    + " concat('{\"userId\":\"u', toString(intDiv(number, 2)), '\",\"value\":', if(number % 2 = 1 AND intDiv(number, 2) % 3 = 0, 'false', 'true'), '}'),"
                    + " number, toDateTime(" + t + ") FROM numbers(" + (2L * users) + ")");
        }
        return 2L * users;
    }

    /** {@code n} live rule cohorts named 'rule bench k' (the previous run's are soft-deleted and their memberships closed). */
    static void createRuleCohorts(PostgresSettings pg, int n) throws Exception {
        try (Connection c = pg.connect()) {
            try (Statement st = c.createStatement()) {
                st.execute("UPDATE user_cohorts SET left_at = clock_timestamp() WHERE left_at IS NULL AND cohort_id IN"
                        + " (SELECT id FROM cohorts WHERE company_id = 'bench' AND name LIKE 'rule bench %' AND deleted_at IS NULL)");
                st.execute("UPDATE cohorts SET deleted_at = clock_timestamp() WHERE company_id = 'bench' AND name LIKE 'rule bench %' AND deleted_at IS NULL");
            }
            List<String> templates = templates();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO cohorts (company_id, name, rule) VALUES ('bench', ?, ?::jsonb)")) {
                for (int k = 0; k < n; k++) {
                    ps.setString(1, "rule bench " + k);
                    ps.setString(2, variant(templates.get(k % templates.size()), k / templates.size()));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
    }

    private static Map<String, Object> phases(RuleCohorts.Pass p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("evaluateSeconds", CohortBench.round(p.evaluateNanos() / 1e9));
        out.put("writeSeconds", CohortBench.round(p.writeNanos() / 1e9));
        out.put("added", p.added());
        out.put("removed", p.removed());
        return out;
    }

    static long memberships(PostgresSettings pg) throws Exception {
        return count(pg, "SELECT count(*) FROM user_cohorts uc JOIN cohorts co ON co.id = uc.cohort_id"
                + " WHERE co.company_id = 'bench' AND co.name LIKE 'rule bench %' AND co.deleted_at IS NULL AND uc.left_at IS NULL");
    }

    private static long count(PostgresSettings pg, String sql) throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long post(String baseUrl, String token, String rule) throws Exception {
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl + "/cohorts/preview")).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"rule\":" + rule + "}")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException("POST /cohorts/preview " + rule + " answered " + res.statusCode() + ": " + res.body());
        }
        String body = res.body();
        int i = body.indexOf("\"members\":") + 10;
        return Long.parseLong(body.substring(i, body.indexOf(',', i)).trim());
    }
}
