package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortHttp.Answer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.csr.gateway.TestQueries.queryColumn;
import static io.csr.gateway.TestQueries.queryLong;
import static io.csr.gateway.TestRows.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rule cohorts against real PostgreSQL (participants, cohorts, user_cohorts) and ClickHouse (events, metrics_timeseries)
 * in their own schema and database. Every membership below is computed by hand from the seed in {@link #seed()}:
 *
 * <pre>
 * participant programme  language enrolled    left        outcome     at_risk (journey)              sroi, last 30 days
 * p1          mentoring  de       2026-09-01  -           -           set t-3d                       2 (t-1d), 4 (t-2d)
 * p2          mentoring  en       2026-08-15  2026-10-01  completed   set t-5d, cleared t-2d         10 (t-3d); 100 at t-40d
 * p3          language   de       2026-09-10  2026-09-20  dropped_out set t-1d                       -
 * p4          language   -        2026-07-01  -           -           t-20d: value false, "value":true only inside a string   1 (t-10d)
 * p5          buddy      de       2026-10-01  -           -           set and cleared at the same ms (t-8d)                     -
 * x9          (not a participant, seen in events)         set t-1d                                   7 (t-1d)
 * </pre>
 */
class RuleCohortITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;
    static CohortHttp http;
    static PostgresSettings pg;
    static String admin;
    static String viewer;
    static final String CO = "rcA";
    static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    static final DateTimeFormatter CH_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    static int eventSeq;

    @BeforeAll
    static void seed() throws Exception {
        fx = new GatewayFixture(Map.of(ConfigKey.COHORT_RULE_REFRESH_SECONDS.name(), "1"));
        ch = fx.clickHouse(); // dropped by fx.close()
        http = new CohortHttp(fx.base());
        pg = PostgresSettings.from(fx.config);
        admin = fx.tokens.admin(List.of(CO));
        viewer = fx.tokens.forCompany(CO);
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on, left_on, outcome) VALUES"
                    + " ('rcA', 'p1', 'mentoring', 'de', '2026-09-01', NULL, NULL),"
                    + " ('rcA', 'p2', 'mentoring', 'en', '2026-08-15', '2026-10-01', 'completed'),"
                    + " ('rcA', 'p3', 'language', 'de', '2026-09-10', '2026-09-20', 'dropped_out'),"
                    + " ('rcA', 'p4', 'language', NULL, '2026-07-01', NULL, NULL),"
                    + " ('rcA', 'p5', 'buddy', 'de', '2026-10-01', NULL, NULL),"
                    + " ('rcB', 'p1', 'mentoring', 'de', '2026-09-01', NULL, NULL)");
        }
        List<Map<String, Object>> events = new ArrayList<>();
        events.add(journey("p1", "at_risk", days(3), true));
        events.add(journey("p2", "at_risk", days(5), true));
        events.add(journey("p2", "at_risk", days(2), false));
        events.add(journey("p3", "at_risk", days(1), true));
        events.add(journeyPayload("p4", "at_risk", days(20), "{\"userId\":\"p4\",\"note\":\"\\\"value\\\":true\",\"value\":false}"));
        events.add(journey("p5", "at_risk", days(8), true));
        events.add(journey("p5", "at_risk", days(8), false));
        events.add(journey("x9", "at_risk", days(1), true));
        events.add(journey("rcB-only", "at_risk", days(1), true));
        events.get(events.size() - 1).put("company_id", "rcB");
        List<Map<String, Object>> obs = new ArrayList<>();
        Object[][] sroi = {{"p1", 1, 2.0}, {"p1", 2, 4.0}, {"p2", 3, 10.0}, {"p2", 40, 100.0}, {"p4", 10, 1.0}, {"x9", 1, 7.0}};
        for (Object[] o : sroi) {
            Instant at = days((Integer) o[1]);
            Map<String, Object> ev = event("metric", "metrics.sroi", (String) o[0], at, "{\"value\":" + o[2] + "}");
            events.add(ev);
            obs.add(obs((String) o[0], at, (Double) o[2], (String) ev.get("event_id")));
        }
        ch.insertRows("events", events);
        ch.insertRows("metrics_timeseries", obs);
        ch.insertRows("metrics_timeseries", List.of(obs.get(0)));   // a replayed batch: p1 still has 2 observations under FINAL
        ch.execute(io.csr.common.userdays.UserDailyMetrics.fillAll()); // what the job writes beside them (issue 25)
    }

    static Instant days(int n) {
        return NOW.minus(Duration.ofDays(n)).minusSeconds(60);
    }

    static Map<String, Object> journey(String user, String flag, Instant at, boolean value) {
        return journeyPayload(user, flag, at, "{\"userId\":\"" + user + "\", \"value\": " + value + "}");
    }

    static Map<String, Object> journeyPayload(String user, String flag, Instant at, String payload) {
        return event("journey", "journey." + flag, user, at, payload);
    }

    static Map<String, Object> event(String type, String subject, String user, Instant at, String payload) {
        int seq = ++eventSeq;
        return row("event_id", "e" + seq, "event_type", type, "subject", subject, "company_id", CO, "user_id", user,
                "occurred_at", CH_TIME.format(at), "occurred_at_ms", at.toEpochMilli(), "payload", payload, "stream_seq", seq,
                "ingested_at", CH_TIME.format(at));
    }

    static Map<String, Object> obs(String user, Instant at, double value, String eventId) {
        return row("company_id", CO, "metric", "sroi", "user_id", user, "ts", CH_TIME.format(at), "ts_ms", at.toEpochMilli(),
                "value", value, "event_id", eventId);
    }

    private static List<String> preview(String rule) throws Exception {
        Answer a = http.send("POST", "/cohorts/preview", admin, "{\"rule\":" + rule + "}");
        assertThat(a.status()).as(rule + " -> " + a.body()).isEqualTo(200);
        List<String> sample = new ArrayList<>();
        a.json().get("sample").forEach(n -> sample.add(n.asText()));
        assertThat(a.json().get("members").asInt()).as(rule).isEqualTo(sample.size());
        return sample;
    }

    @Test
    void everyRuleElementAndCombinationHasTheHandComputedMembers() throws Exception {
        Object[][] cases = {
                {"{\"attr\":\"programme\",\"in\":[\"mentoring\"]}", List.of("p1", "p2")},
                {"{\"attr\":\"languageGroup\",\"in\":[\"de\"]}", List.of("p1", "p3", "p5")},
                {"{\"attr\":\"languageGroup\",\"in\":[null]}", List.of("p4")},
                {"{\"attr\":\"outcome\",\"in\":[null]}", List.of("p1", "p4", "p5")},
                {"{\"attr\":\"outcome\",\"in\":[\"completed\"]}", List.of("p2")},
                {"{\"attr\":\"enrolledOn\",\"from\":\"2026-09-01\"}", List.of("p1", "p3", "p5")},
                {"{\"attr\":\"enrolledOn\",\"to\":\"2026-08-31\"}", List.of("p2", "p4")},
                {"{\"attr\":\"enrolledOn\",\"from\":\"2026-09-01\",\"to\":\"2026-09-30\"}", List.of("p1", "p3")},
                {"{\"attr\":\"leftOn\",\"from\":\"2026-09-15\"}", List.of("p2", "p3")},
                {"{\"attr\":\"leftOn\",\"to\":\"2026-09-30\"}", List.of("p3")},
                {"{\"flag\":\"at_risk\",\"state\":\"set\"}", List.of("p1", "p3", "x9")},
                {"{\"flag\":\"at_risk\",\"state\":\"ever\"}", List.of("p1", "p2", "p3", "p5", "x9")},
                {"{\"metric\":\"sroi\",\"agg\":\"avg\",\"days\":30,\"op\":\">=\",\"value\":3}", List.of("p1", "p2", "x9")},
                {"{\"metric\":\"sroi\",\"agg\":\"avg\",\"days\":50,\"op\":\"=\",\"value\":55}", List.of("p2")},
                {"{\"metric\":\"sroi\",\"agg\":\"min\",\"days\":30,\"op\":\"<\",\"value\":3}", List.of("p1", "p4")},
                {"{\"metric\":\"sroi\",\"agg\":\"max\",\"days\":30,\"op\":\">\",\"value\":5}", List.of("p2", "x9")},
                {"{\"metric\":\"sroi\",\"agg\":\"count\",\"days\":30,\"op\":\">=\",\"value\":2}", List.of("p1")},
                {"{\"metric\":\"sroi\",\"agg\":\"count\",\"days\":30,\"op\":\"=\",\"value\":0}", List.of("p3", "p5")},
                {"{\"metric\":\"sroi\",\"agg\":\"count\",\"days\":60,\"op\":\"<\",\"value\":1}", List.of("p3", "p5")},
                {"{\"active\":{\"days\":7}}", List.of("p1", "p2", "p3", "x9")},
                {"{\"not\":{\"flag\":\"at_risk\"}}", List.of("p2", "p4", "p5")},
                {"{\"all\":[{\"attr\":\"programme\",\"in\":[\"mentoring\"]},{\"flag\":\"at_risk\",\"state\":\"set\"}]}", List.of("p1")},
                {"{\"any\":[{\"attr\":\"programme\",\"in\":[\"buddy\"]},{\"flag\":\"at_risk\",\"state\":\"set\"}]}", List.of("p1", "p3", "p5")},
                {"{\"all\":[{\"attr\":\"languageGroup\",\"in\":[\"de\"]},{\"not\":{\"flag\":\"at_risk\",\"state\":\"set\"}}]}", List.of("p5")},
                {"{\"not\":{\"any\":[{\"attr\":\"outcome\",\"in\":[\"completed\"]},{\"attr\":\"outcome\",\"in\":[\"dropped_out\"]}]}}", List.of("p1", "p4", "p5")},
                {"{\"any\":[{\"active\":{\"days\":7}},{\"metric\":\"sroi\",\"agg\":\"count\",\"days\":30,\"op\":\">\",\"value\":0}]}", List.of("p1", "p2", "p3", "p4", "x9")},
        };
        for (Object[] c : cases) {
            assertThat(preview((String) c[0])).as((String) c[0]).containsExactlyElementsOf((List<String>) c[1]);
        }
    }

    private static TreeSet<String> openStints(long cohortId) throws Exception {
        try (Connection c = pg.connect()) {
            return new TreeSet<>(queryColumn(c, String.class, "SELECT user_id FROM user_cohorts WHERE cohort_id = ? AND left_at IS NULL", cohortId));
        }
    }

    private static long closedStints(long cohortId, String user) throws Exception {
        try (Connection c = pg.connect()) {
            return queryLong(c, "SELECT count(*) FROM user_cohorts WHERE cohort_id = ? AND user_id = ? AND left_at IS NOT NULL", cohortId, user);
        }
    }

    @Test
    void membershipFollowsAttributeChangesAndAFlagThatClearsWithin60Seconds() throws Exception {
        // a company of its own: this test changes participants and flags
        String co = "rcM";
        String adminM = fx.tokens.admin(List.of(co));
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on) VALUES"
                    + " ('rcM', 'm1', 'mentoring', 'de', '2026-09-01'), ('rcM', 'm2', 'mentoring', 'de', '2026-09-01'),"
                    + " ('rcM', 'm3', 'buddy', 'de', '2026-09-01')");
        }
        ch.insertRows("events", List.of(inCompany(co, journey("m1", "at_risk", days(3), true)),
                inCompany(co, journey("m2", "at_risk", days(3), true))));
        String rule = "{\"all\":[{\"attr\":\"languageGroup\",\"in\":[\"fr\",\"it\"]},{\"flag\":\"at_risk\"}]}";
        Answer created = http.send("POST", "/cohorts", adminM, "{\"name\":\"at risk, fr/it\",\"rule\":" + rule + "}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().get("kind").asText()).isEqualTo("rule");
        assertThat(created.json().get("members").asLong()).isZero();
        long id = created.json().get("id").asLong();

        // m1 (at_risk set) moves to the French group through the API
        Answer moved = http.send("PUT", "/participants/m1", adminM,
                "{\"programme\":\"mentoring\",\"languageGroup\":\"fr\",\"enrolledOn\":\"2026-09-01\"}");
        assertThat(moved.status()).as(moved.body()).isEqualTo(200);
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(60)).until(() -> openStints(id).equals(new TreeSet<>(List.of("m1"))));
        long attributeMs = (System.nanoTime() - t0) / 1_000_000;

        // m2 (at_risk set) moves to Italian by SQL: only the schedule sees that
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("UPDATE participants SET language_group = 'it', updated_at = now() WHERE company_id = 'rcM' AND user_id = 'm2'");
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> openStints(id).equals(new TreeSet<>(List.of("m1", "m2"))));

        // m1's flag clears (the job wrote the journey event to ClickHouse)
        ch.insertRows("events", List.of(inCompany(co, journey("m1", "at_risk", Instant.now(), false))));
        long t1 = System.nanoTime();
        await().atMost(Duration.ofSeconds(60)).until(() -> openStints(id).equals(new TreeSet<>(List.of("m2"))));
        long flagMs = (System.nanoTime() - t1) / 1_000_000;
        assertThat(closedStints(id, "m1")).as("m1's stint is closed, history kept").isEqualTo(1);

        // and set again: a second stint
        ch.insertRows("events", List.of(inCompany(co, journey("m1", "at_risk", Instant.now().plusMillis(5), true))));
        await().atMost(Duration.ofSeconds(60)).until(() -> openStints(id).equals(new TreeSet<>(List.of("m1", "m2"))));
        assertThat(closedStints(id, "m1")).isEqualTo(1);
        System.out.println("rule cohort membership after a participant PUT: " + attributeMs + " ms; after a flag cleared: " + flagMs + " ms");
        String admin = adminM;
        String viewer = fx.tokens.forCompany(co);

        Answer direct = http.send("PUT", "/cohorts/" + id + "/members", admin, "{\"add\":[\"p2\"]}");
        assertThat(direct.status()).isEqualTo(409);
        assertThat(direct.error()).isEqualTo("rule_cohort");

        Answer listed = http.get("/cohorts", viewer);
        JsonNode mine = null;
        for (JsonNode c : listed.json().get("cohorts")) {
            if (c.get("id").asLong() == id) {
                mine = c;
            }
        }
        assertThat(mine).isNotNull();
        assertThat(mine.get("kind").asText()).isEqualTo("rule");
        assertThat(mine.get("rule").get("all").size()).isEqualTo(2);
        assertThat(mine.get("members").asLong()).isEqualTo(2);

        Answer edited = http.send("PUT", "/cohorts/" + id, admin, "{\"rule\":{\"attr\":\"programme\",\"in\":[\"buddy\"]},\"name\":\"buddies\"}");
        assertThat(edited.status()).as(edited.body()).isEqualTo(200);
        assertThat(edited.json().get("name").asText()).isEqualTo("buddies");
        assertThat(openStints(id)).as("a changed rule is recomputed in the request").containsExactly("m3");
        Answer madeStatic = http.send("PUT", "/cohorts/" + id, admin, "{\"rule\":null}");
        assertThat(madeStatic.json().get("kind").asText()).isEqualTo("static");
        assertThat(madeStatic.json().get("members").asLong()).as("members kept").isEqualTo(1);
        assertThat(http.send("PUT", "/cohorts/" + id + "/members", admin, "{\"add\":[\"m2\"]}").status()).isEqualTo(200);
    }

    /**
     * A recompute stamps its stints itself (COPY of the new members, the trigger skipped, 011) and must stamp them as the
     * trigger would: per (cohort, user) the stints' updated_at strictly increase in joining order, each at least the
     * writing transaction's start; ids with a backslash, quotes and non-BMP characters arrive as they were; and a write
     * outside that path is still stamped by the trigger.
     */
    @Test
    void aRecomputeWritesItsStintsInBulkStampedAsTheTriggerWould() throws Exception {
        String co = "rcS";
        String adminS = fx.tokens.admin(List.of(co));
        List<String> odd = List.of("s\\1", "s'2\"", "s-\u00fc-\uD83D\uDE00", "s\\N");
        try (Connection c = pg.connect();
             PreparedStatement ps = c.prepareStatement("INSERT INTO participants (company_id, user_id, programme, enrolled_on) VALUES (?, ?, ?, '2026-09-01')")) {
            for (int i = 0; i < 2_400; i++) {
                ps.setString(1, co);
                ps.setString(2, "s" + i);
                ps.setString(3, i % 2 == 0 ? "even" : "odd");
                ps.addBatch();
            }
            for (String u : odd) {
                ps.setString(1, co);
                ps.setString(2, u);
                ps.setString(3, "even");
                ps.addBatch();
            }
            ps.executeBatch();
        }
        String even = "{\"attr\":\"programme\",\"in\":[\"even\"]}";
        String odds = "{\"attr\":\"programme\",\"in\":[\"odd\"]}";
        Answer created = http.send("POST", "/cohorts", adminS, "{\"name\":\"even\",\"rule\":" + even + "}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        long id = created.json().get("id").asLong();
        assertThat(created.json().get("members").asLong()).isEqualTo(1_200 + odd.size());
        TreeSet<String> expectedEven = new TreeSet<>(odd);
        for (int i = 0; i < 2_400; i += 2) {
            expectedEven.add("s" + i);
        }
        assertThat(openStints(id)).isEqualTo(expectedEven);
        // every member leaves and the other half joins, then back: three stints' worth of history per pair
        for (String rule : List.of(odds, even)) {
            Answer edited = http.send("PUT", "/cohorts/" + id, adminS, "{\"rule\":" + rule + "}");
            assertThat(edited.status()).as(edited.body()).isEqualTo(200);
        }
        assertThat(openStints(id)).isEqualTo(expectedEven);
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FILTER (WHERE left_at IS NOT NULL), count(DISTINCT user_id),"
                    + " count(*) FILTER (WHERE updated_at < joined_at - interval '1 second')"
                    + " FROM user_cohorts WHERE cohort_id = " + id)) {
                rs.next();
                assertThat(rs.getLong(1)).as("closed stints: the even ones left once, the odd ones joined and left").isEqualTo(expectedEven.size() + 1_200);
                assertThat(rs.getLong(2)).isEqualTo(2_400 + odd.size());
                assertThat(rs.getLong(3)).as("no stamp before its own write").isZero();
            }
            // per pair, in joining order: updated_at strictly increasing, so ClickHouse keeps the newest state
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM (SELECT updated_at, lag(updated_at) OVER"
                    + " (PARTITION BY user_id ORDER BY joined_at) AS before FROM user_cohorts WHERE cohort_id = " + id + ") s"
                    + " WHERE before IS NOT NULL AND updated_at < before + interval '1 millisecond'")) {
                rs.next();
                assertThat(rs.getLong(1)).isZero();
            }
            // a write outside the bulk path is still stamped by the trigger, whatever it sets
            st.execute("UPDATE user_cohorts SET updated_at = '2000-01-01' WHERE cohort_id = " + id + " AND user_id = 's0' AND left_at IS NULL");
            try (ResultSet rs = st.executeQuery("SELECT updated_at > now() - interval '1 hour' FROM user_cohorts WHERE cohort_id = " + id
                    + " AND user_id = 's0' AND left_at IS NULL")) {
                rs.next();
                assertThat(rs.getBoolean(1)).isTrue();
            }
        }
    }

    static Map<String, Object> inCompany(String companyId, Map<String, Object> event) {
        event.put("company_id", companyId);
        return event;
    }

    /**
     * The figures of a rule cohort equal those of a static cohort with the same members: both are user_cohorts rows,
     * replicated here as the job's CohortChangeReader shapes them (version = updated_at in ms, active = left_at unset).
     */
    @Test
    void aRuleCohortsFiguresEqualThoseOfAStaticCohortWithTheSameMembers() throws Exception {
        Answer rule = http.send("POST", "/cohorts", admin, "{\"name\":\"sroi avg >= 3\",\"rule\":"
                + "{\"metric\":\"sroi\",\"agg\":\"avg\",\"days\":30,\"op\":\">=\",\"value\":3}}");
        assertThat(rule.status()).as(rule.body()).isEqualTo(201);
        long ruleId = rule.json().get("id").asLong();
        long staticId = http.send("POST", "/cohorts", admin, "{\"name\":\"same, by hand\"}").json().get("id").asLong();
        assertThat(http.send("PUT", "/cohorts/" + staticId + "/members", admin, "{\"add\":[\"p1\",\"p2\",\"x9\"]}").status()).isEqualTo(200);
        replicate();
        String range = "metric=sroi&startDate=" + NOW.minus(Duration.ofDays(60)).toString().substring(0, 10)
                + "&endDate=" + NOW.toString().substring(0, 10);
        Answer a = http.get("/cohort/" + ruleId + "/metrics?" + range, viewer);
        Answer b = http.get("/cohort/" + staticId + "/metrics?" + range, viewer);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.json().get("users").asLong()).isEqualTo(3);
        assertThat(a.json().get("count").asLong()).isEqualTo(5);
        ((com.fasterxml.jackson.databind.node.ObjectNode) a.json()).remove("cohortId");
        ((com.fasterxml.jackson.databind.node.ObjectNode) b.json()).remove("cohortId");
        assertThat(a.json()).isEqualTo(b.json());
    }

    /** Copies cohorts and memberships of the schema to ClickHouse the way the job's replication writes them. */
    private static void replicate() throws Exception {
        List<Map<String, Object>> cohorts = new ArrayList<>();
        List<Map<String, Object>> members = new ArrayList<>();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT id, company_id, name, deleted_at IS NOT NULL, (extract(epoch FROM updated_at) * 1000)::bigint FROM cohorts")) {
                while (rs.next()) {
                    cohorts.add(CohortAnalyticsITCase.cohort(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getBoolean(4) ? 1 : 0, rs.getLong(5)));
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT DISTINCT ON (cohort_id, user_id) cohort_id, company_id, user_id, left_at IS NULL,"
                    + " (extract(epoch FROM max(updated_at) OVER (PARTITION BY cohort_id, user_id)) * 1000)::bigint"
                    + " FROM user_cohorts ORDER BY cohort_id, user_id, (left_at IS NULL) DESC, joined_at DESC")) {
                while (rs.next()) {
                    members.add(CohortAnalyticsITCase.member(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getBoolean(4) ? 1 : 0, rs.getLong(5)));
                }
            }
        }
        ch.insertRows("cohorts", cohorts);
        ch.insertRows("user_cohorts", members);
    }

    /**
     * A scheduled pass reads a company's participants once for all its rules, and the next pass reads them again: a
     * participant added by SQL (no API call, so only the schedule sees it) joins the rule cohorts it matches.
     */
    @Test
    void aParticipantAddedBySqlJoinsAtTheNextScheduledPass() throws Exception {
        String co = "rcN";
        String adminN = fx.tokens.admin(List.of(co));
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO participants (company_id, user_id, programme, enrolled_on) VALUES ('rcN', 'n1', 'buddy', '2026-09-01')");
        }
        long buddies = http.send("POST", "/cohorts", adminN, "{\"name\":\"buddies\",\"rule\":{\"attr\":\"programme\",\"in\":[\"buddy\"]}}")
                .json().get("id").asLong();
        long notMentoring = http.send("POST", "/cohorts", adminN, "{\"name\":\"not mentoring\",\"rule\":{\"not\":{\"attr\":\"programme\",\"in\":[\"mentoring\"]}}}")
                .json().get("id").asLong();
        assertThat(openStints(buddies)).containsExactly("n1");
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO participants (company_id, user_id, programme, enrolled_on) VALUES ('rcN', 'n2', 'buddy', '2026-09-01')");
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> openStints(buddies).equals(new TreeSet<>(List.of("n1", "n2")))
                && openStints(notMentoring).equals(new TreeSet<>(List.of("n1", "n2"))));
    }

    /**
     * 012 keeps the foreign key's rule without its per-row check: a membership of a cohort that does not exist is refused,
     * a cohort with memberships cannot be deleted or renumbered, and a membership being written holds its cohort (a
     * concurrent DELETE waits for it, then is refused), as the foreign key's FOR KEY SHARE did.
     */
    @Test
    void aMembershipNeedsItsCohortAndACohortWithMembershipsIsNotDeleted() throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            assertThat(sqlState(st, "INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (-5, 'rcK', 'k1')")).isEqualTo("23503");
            long id = cohortBySql(st, "kept");
            st.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (" + id + ", 'rcK', 'k1')");
            assertThat(sqlState(st, "UPDATE user_cohorts SET cohort_id = -5 WHERE cohort_id = " + id)).isEqualTo("23503");
            assertThat(sqlState(st, "DELETE FROM cohorts WHERE id = " + id)).isEqualTo("23503");
            assertThat(sqlState(st, "UPDATE cohorts SET id = -6 WHERE id = " + id)).isEqualTo("23503");
            assertThat(sqlState(st, "UPDATE cohorts SET name = 'kept, renamed' WHERE id = " + id)).as("other updates go on").isNull();
            assertThat(sqlState(st, "DELETE FROM cohorts WHERE id = " + cohortBySql(st, "empty"))).as("a cohort without memberships").isNull();

            long raced = cohortBySql(st, "raced");
            try (Connection writer = pg.connect(); Statement w = writer.createStatement(); Connection deleter = pg.connect()) {
                writer.setAutoCommit(false);
                w.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (" + raced + ", 'rcK', 'k2')");
                int deleterPid;
                try (Statement d = deleter.createStatement(); ResultSet rs = d.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    deleterPid = rs.getInt(1);
                }
                CompletableFuture<String> delete = CompletableFuture.supplyAsync(() -> {
                    try (Statement d = deleter.createStatement()) {
                        return sqlState(d, "DELETE FROM cohorts WHERE id = " + raced);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                await().atMost(Duration.ofSeconds(30)).until(() -> waitsForALock(st, deleterPid));
                assertThat(delete).as("the DELETE waits for the writer").isNotDone();
                writer.commit();
                assertThat(delete.get(30, TimeUnit.SECONDS)).isEqualTo("23503");
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM user_cohorts u WHERE NOT EXISTS (SELECT 1 FROM cohorts c WHERE c.id = u.cohort_id)")) {
                rs.next();
                assertThat(rs.getLong(1)).as("memberships without their cohort").isZero();
            }
        }
    }

    private static long cohortBySql(Statement st, String name) throws Exception {
        try (ResultSet rs = st.executeQuery("INSERT INTO cohorts (company_id, name) VALUES ('rcK', '" + name + "') RETURNING id")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The SQLSTATE a statement fails with, or null when it succeeds. */
    private static String sqlState(Statement st, String sql) {
        try {
            st.execute(sql);
            return null;
        } catch (SQLException e) {
            return e.getSQLState();
        }
    }

    private static boolean waitsForALock(Statement st, int pid) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = " + pid)) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** One scheduled pass per schema at a time: another node's pass in this schema makes this one skip, other schemas do not. */
    @Test
    void theScheduledPassSkipsWhileAnotherNodeOfTheSameSchemaRunsIt() throws Exception {
        try (Connection other = pg.connect(); Statement st = other.createStatement()) {
            st.execute("SELECT pg_advisory_lock(" + io.csr.gateway.cohort.rule.RuleCohorts.LOCK_CLASS
                    + ", hashtext(current_schema()))");
            assertThat(fx.gateway.cohorts().rules().refreshAll()).as("skipped").isEqualTo(-1);
            st.execute("SELECT pg_advisory_unlock_all()");
            st.execute("SET search_path TO public");
            st.execute("SELECT pg_advisory_lock(" + io.csr.gateway.cohort.rule.RuleCohorts.LOCK_CLASS
                    + ", hashtext(current_schema()))");
            assertThat(fx.gateway.cohorts().rules().refreshAll()).as("a pass in another schema does not block this one").isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void aBadRuleIs400NamingTheJsonPathAndWhatIsAllowed() throws Exception {
        String deep = "{\"attr\":\"programme\",\"in\":[\"a\"]}";
        for (int i = 0; i < 7; i++) {
            deep = "{\"not\":" + deep + "}";
        }
        StringBuilder wide = new StringBuilder("{\"any\":[");
        for (int i = 0; i < 60; i++) {
            wide.append(i == 0 ? "" : ",").append("{\"active\":{\"days\":1}}");
        }
        wide.append("]}");
        Object[][] cases = {
                {"\"everyone\"", "rule: must be a JSON object"},
                {"{\"all\":[]}", "rule.all: must be a non-empty array"},
                {"{\"all\":[{\"attr\":\"programme\",\"in\":[\"a\"]},{\"metric\":\"sroi\",\"agg\":\"median\",\"days\":3,\"op\":\">\",\"value\":1}]}",
                        "rule.all[1].agg: 'median' is not allowed; use avg, min, max or count"},
                {"{\"attr\":\"colour\",\"in\":[\"x\"]}", "rule.attr: 'colour' is not an attribute"},
                {"{\"attr\":\"outcome\",\"in\":[\"won\"]}", "rule.in[0]: 'won' is not an outcome"},
                {"{\"attr\":\"enrolledOn\",\"from\":\"2026-13-01\"}", "rule.from:"},
                {"{\"attr\":\"enrolledOn\"}", "rule: give \"from\" and/or \"to\""},
                {"{\"flag\":\"at risk\"}", "rule.flag: 'at risk' is not a journey flag name"},
                {"{\"flag\":\"at_risk\",\"state\":\"never\"}", "rule.state:"},
                {"{\"active\":{\"days\":0}}", "rule.active.days: must be a whole number of days from 1 to 3660"},
                {"{\"metric\":\"sroi\",\"agg\":\"avg\",\"days\":3,\"op\":\"!=\",\"value\":1}", "rule.op:"},
                {"{\"metric\":\"sroi\",\"agg\":\"avg\",\"days\":3,\"op\":\">\",\"value\":\"1\"}", "rule.value: must be a finite JSON number"},
                {"{\"attr\":\"programme\",\"in\":[\"a\"],\"x\":1}", "rule.x: unknown field; this element takes only attr, in"},
                {"{\"some\":[]}", "rule: is not a rule element"},
                {deep, "rule.not.not.not.not.not.not: nested deeper than 6 levels"},
                {wide.toString(), "more than 50 elements"},
        };
        for (Object[] c : cases) {
            for (String call : List.of("preview", "create")) {
                Answer a = call.equals("preview")
                        ? http.send("POST", "/cohorts/preview", admin, "{\"rule\":" + c[0] + "}")
                        : http.send("POST", "/cohorts", admin, "{\"name\":\"bad " + c[0].hashCode() + "\",\"rule\":" + c[0] + "}");
                assertThat(a.status()).as("%s %s -> %s", call, c[0], a.body()).isEqualTo(400);
                assertThat(a.error()).isEqualTo("bad_rule");
                assertThat(a.message()).as((String) c[0]).contains((String) c[1]);
            }
        }
        assertThat(http.send("POST", "/cohorts/preview", viewer, "{\"rule\":{\"active\":{\"days\":1}}}").status())
                .as("previews are for admins").isEqualTo(403);
        assertThat(http.send("POST", "/cohorts/preview", fx.tokens.admin(List.of("rcB")), "{\"rule\":{\"flag\":\"at_risk\"}}")
                .json().get("sample").toString()).as("another company sees only its own users").isEqualTo("[\"rcB-only\"]");
    }
}
