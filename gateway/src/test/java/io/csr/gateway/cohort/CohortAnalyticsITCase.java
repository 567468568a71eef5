package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.userdays.UserDailyMetrics;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortHttp.Answer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.csr.gateway.TestRows.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

/**
 * The five read endpoints against a real ClickHouse database of their own, seeded with rows as the job's replication
 * and sink write them (including replayed duplicates and superseded versions), and answers computed by hand.
 *
 * <p>Company {@code coA}, metric {@code sroi}, range 2026-01-01..2026-02-28. Members now: cohort 1 = u1, u2 (u3 left);
 * cohort 2 = u2, u4; cohort 5 = u2, u4 (same as 2: a tie on avg); cohort 3 deleted (had u1). Observations:
 * u1: 1 (01-05), 3 (01-06), 11 (02-28 23:59:59); u2: 5 (01-05), 7 (01-12), 9 (02-02); u3: 100; u4: 4 (01-06);
 * u9 (no cohort): 50; outside the range: u1 77 (2025-12-31 23:59:59) and 99 (2026-03-01 00:00:00); company coB has
 * a user u1 too (1000). u1's first observation is stored twice (a replayed sink batch).
 * Cohort 1 sorted values 1,3,5,7,9,11: count 6, users 2, avg 6, min 1, max 11, p50/p75/p95 = the element at
 * floor(q·n) = 7, 9, 11, population stddev sqrt(70/6).
 *
 * <p>The endpoints read the per-user daily aggregates (COHORT_DAILY_AGGREGATES, the default): {@code user_daily_metrics}
 * is filled from the observations as the job's recomputation writes it (version 2·count + 1), plus a stale lower
 * version and a replayed copy that FINAL must drop. Quantiles from it are within 1 % (the bins are 0.5 % wide);
 * {@link #everyEndpointAnswersTheSameFromUserDaysAsFromObservations} compares both sources on every figure.
 */
class CohortAnalyticsITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;
    static CohortHttp http;
    static String tokenA;
    static final String RANGE = "startDate=2026-01-01&endDate=2026-02-28";

    @BeforeAll
    static void seed() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse(); // dropped by fx.close()
        http = new CohortHttp(fx.base());
        tokenA = fx.tokens.forCompany("coA");

        ch.insertRows("cohorts", List.of(
                cohort(1, "coA", "alpha", 0, 1), cohort(2, "coA", "beta", 0, 1),
                cohort(3, "coA", "gamma", 0, 1), cohort(3, "coA", "gamma", 1, 2),   // soft-deleted later
                cohort(4, "coB", "other", 0, 1), cohort(5, "coA", "tie", 0, 1),
                cohort(1, "coA", "alpha-old-name", 0, 0)));                         // superseded version
        ch.insertRows("user_cohorts", List.of(
                member(1, "coA", "u1", 1, 1), member(1, "coA", "u2", 1, 1),
                member(1, "coA", "u3", 1, 1), member(1, "coA", "u3", 0, 2),         // u3 left cohort 1
                member(2, "coA", "u2", 1, 1), member(2, "coA", "u4", 1, 1),
                member(5, "coA", "u2", 1, 1), member(5, "coA", "u4", 1, 1),
                member(3, "coA", "u1", 1, 1),
                member(4, "coB", "u1", 1, 1)));
        List<Map<String, Object>> obs = new ArrayList<>(List.of(
                obs("coA", "sroi", "u1", "2026-01-05 10:00:00", 1, "e1"),
                obs("coA", "sroi", "u1", "2026-01-06 10:00:00", 3, "e2"),
                obs("coA", "sroi", "u1", "2026-02-28 23:59:59", 11, "e3"),
                obs("coA", "sroi", "u2", "2026-01-05 11:00:00", 5, "e4"),
                obs("coA", "sroi", "u2", "2026-01-12 11:00:00", 7, "e5"),
                obs("coA", "sroi", "u2", "2026-02-02 11:00:00", 9, "e6"),
                obs("coA", "sroi", "u3", "2026-01-05 12:00:00", 100, "e7"),
                obs("coA", "sroi", "u4", "2026-01-06 12:00:00", 4, "e8"),
                obs("coA", "sroi", "u9", "2026-01-06 12:00:00", 50, "e9"),
                obs("coA", "sroi", "u1", "2025-12-31 23:59:59", 77, "e10"),
                obs("coA", "sroi", "u1", "2026-03-01 00:00:00", 99, "e11"),
                obs("coB", "sroi", "u1", "2026-01-05 10:00:00", 1000, "e12"),
                obs("coA", "hours", "u1", "2026-01-05 10:00:00", 0, "h1"),
                obs("coA", "hours", "u1", "2026-01-06 10:00:00", 2, "h2"),
                obs("coA", "hours", "u1", "2026-01-07 10:00:00", 3, "h3")));
        ch.insertRows("metrics_timeseries", obs);
        ch.insertRows("metrics_timeseries", List.of(obs.get(0)));                 // a replayed batch: same key again
        ch.execute(UserDailyMetrics.fillAll());
        ch.execute(UserDailyMetrics.fillAll());                                   // a replayed recomputation: same rows again
        // a stale version of u1's 2026-01-05 (version 1 < 2·1 + 1): FINAL keeps the newer row
        ch.execute("INSERT INTO user_daily_metrics (" + UserDailyMetrics.COLUMNS + ") VALUES ('coA', 'sroi', toDate('2026-01-05'), 'u1',"
                + " 40, 4000, -5, 500, 1, [1048576], [40], 1, now())");
    }

    /**
     * What the replication (cohorts, memberships) and the job (observations and their user-day rows, issue 25) would have
     * written to ClickHouse.
     */
    static void insertAsWritten(ClickHouseAccess ch, List<Map<String, Object>> cohorts, List<Map<String, Object>> members,
                                List<Map<String, Object>> observations) {
        ch.insertRows("cohorts", cohorts);
        ch.insertRows("user_cohorts", members);
        ch.insertRows("metrics_timeseries", observations);
        ch.execute(UserDailyMetrics.fillAll());
    }

    static Map<String, Object> cohort(long id, String company, String name, int deleted, long version) {
        return row("id", id, "company_id", company, "name", name, "description", "", "created_at", "2026-01-01 00:00:00",
                "updated_at", "2026-01-01 00:00:00", "deleted", deleted, "version", version);
    }

    static Map<String, Object> member(long cohort, String company, String user, int active, long version) {
        return row("cohort_id", cohort, "company_id", company, "user_id", user, "joined_at", "2026-01-01 00:00:00",
                "left_at", active == 1 ? "0000-00-00 00:00:00" : "2026-01-02 00:00:00", "active", active, "version", version);
    }

    static Map<String, Object> obs(String company, String metric, String user, String ts, double value, String eventId) {
        return row("company_id", company, "metric", metric, "user_id", user, "ts", ts, "ts_ms", 0, "value", value, "event_id", eventId);
    }

    @Test
    void metricsAreTheHandComputedFiguresOfTodaysMembers() throws Exception {
        Answer a = http.get("/cohort/1/metrics?metric=sroi&" + RANGE, tokenA);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        JsonNode j = a.json();
        assertThat(fieldNames(j)).containsExactly("cohortId", "metric", "startDate", "endDate", "users", "count", "avg", "min", "max",
                "p50", "p75", "p95", "stddev");
        assertThat(j.get("cohortId").asLong()).isEqualTo(1);
        assertThat(j.get("metric").asText()).isEqualTo("sroi");
        assertThat(j.get("startDate").asText()).isEqualTo("2026-01-01");
        assertThat(j.get("endDate").asText()).isEqualTo("2026-02-28");
        assertThat(j.get("users").asLong()).isEqualTo(2);
        assertThat(j.get("count").asLong()).as("the replayed row counts once, u3 (left) and out-of-range rows not at all").isEqualTo(6);
        assertThat(j.get("avg").asDouble()).isCloseTo(6.0, within(1e-9));
        assertThat(j.get("min").asDouble()).isEqualTo(1.0);
        assertThat(j.get("max").asDouble()).isEqualTo(11.0);
        assertThat(j.get("p50").asDouble()).isCloseTo(7.0, withinPercentage(1));
        assertThat(j.get("p75").asDouble()).isCloseTo(9.0, withinPercentage(1));
        assertThat(j.get("p95").asDouble()).as("the last rank: the exact maximum").isEqualTo(11.0);
        assertThat(j.get("stddev").asDouble()).isCloseTo(Math.sqrt(70.0 / 6), within(1e-9));
        assertThat(ch.queryLong("SELECT count() AS c FROM metrics_timeseries WHERE event_id = 'e1'"))
                .as("the replayed batch is really stored twice; the figures above counted it once").isEqualTo(2);
    }

    @Test
    void clickHouseUnreachableIs503WithRetryAfter() throws Exception {
        try (GatewayFixture down = new GatewayFixture(Map.of("CLICKHOUSE_URL", "http://127.0.0.1:9"))) {
            Answer a = new CohortHttp(down.base()).get("/cohort/1/metrics?metric=sroi", down.tokens.forCompany("coA"));
            assertThat(a.status()).as(a.body()).isEqualTo(503);
            assertThat(a.error()).isEqualTo("clickhouse_unavailable");
            assertThat(a.raw().headers().firstValue("Retry-After")).hasValue("5");
        }
    }

    @Test
    void aRangeWithoutObservationsHasCountZeroAndNullStatistics() throws Exception {
        Answer a = http.get("/cohort/1/metrics?metric=sroi&startDate=2027-01-01&endDate=2027-01-31", tokenA);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.json().get("count").asLong()).isZero();
        assertThat(a.json().get("users").asLong()).isZero();
        for (String f : List.of("avg", "min", "max", "p50", "p75", "p95", "stddev")) {
            assertThat(a.json().get(f).isNull()).as(f).isTrue();
        }
    }

    @Test
    void trendsByDayWeekAndMonthWithChangePct() throws Exception {
        JsonNode day = trends(1, "sroi", "day");
        assertThat(day.get("interval").asText()).isEqualTo("day");
        assertPoints(day, new Object[][]{
                {"2026-01-05", 2, 3.0, null}, {"2026-01-06", 1, 3.0, 0.0}, {"2026-01-12", 1, 7.0, 400.0 / 3},
                {"2026-02-02", 1, 9.0, 200.0 / 7}, {"2026-02-28", 1, 11.0, 200.0 / 9}});
        assertPoints(trends(1, "sroi", "week"), new Object[][]{
                {"2026-01-05", 3, 3.0, null}, {"2026-01-12", 1, 7.0, 400.0 / 3}, {"2026-02-02", 1, 9.0, 200.0 / 7},
                {"2026-02-23", 1, 11.0, 200.0 / 9}});
        assertPoints(trends(1, "sroi", "month"), new Object[][]{
                {"2026-01-01", 4, 4.0, null}, {"2026-02-01", 2, 10.0, 150.0}});
        assertPoints(trends(1, "hours", "day"), new Object[][]{
                {"2026-01-05", 1, 0.0, null}, {"2026-01-06", 1, 2.0, null /* previous average 0 */}, {"2026-01-07", 1, 3.0, 50.0}});
    }

    private static JsonNode trends(long id, String metric, String interval) throws Exception {
        Answer a = http.get("/cohort/" + id + "/trends?metric=" + metric + "&interval=" + interval + "&" + RANGE, tokenA);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(fieldNames(a.json())).containsExactly("cohortId", "metric", "interval", "points");
        return a.json();
    }

    private static void assertPoints(JsonNode trend, Object[][] expected) {
        JsonNode points = trend.get("points");
        assertThat(points).as(trend.toString()).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            JsonNode p = points.get(i);
            assertThat(fieldNames(p)).containsExactly("periodStart", "count", "avg", "changePct");
            assertThat(p.get("periodStart").asText()).isEqualTo(expected[i][0]);
            assertThat(p.get("count").asLong()).isEqualTo(((Integer) expected[i][1]).longValue());
            assertThat(p.get("avg").asDouble()).isCloseTo((Double) expected[i][2], within(1e-9));
            if (expected[i][3] == null) {
                assertThat(p.get("changePct").isNull()).as("changePct of %s", p).isTrue();
            } else {
                assertThat(p.get("changePct").asDouble()).as("changePct of %s", p).isCloseTo((Double) expected[i][3], within(1e-9));
            }
        }
    }

    @Test
    void overviewHasEveryMetricOfTheMembersInTheRange() throws Exception {
        Answer a = http.get("/cohort/1/overview?" + RANGE, tokenA);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(fieldNames(a.json())).containsExactly("cohortId", "metrics");
        JsonNode metrics = a.json().get("metrics");
        assertThat(metrics.findValuesAsText("metric")).containsExactly("hours", "sroi");
        JsonNode hours = metrics.get(0);
        assertThat(hours.get("count").asLong()).isEqualTo(3);
        assertThat(hours.get("users").asLong()).isEqualTo(1);
        assertThat(hours.get("avg").asDouble()).isCloseTo(5.0 / 3, within(1e-9));
        assertThat(hours.get("max").asDouble()).isEqualTo(3.0);
        assertThat(metrics.get(1).get("count").asLong()).isEqualTo(6);
        assertThat(metrics.get(1).get("avg").asDouble()).isCloseTo(6.0, within(1e-9));
    }

    @Test
    void compareAnswersInTheAskedOrder() throws Exception {
        Answer a = http.send("POST", "/cohort/compare", tokenA,
                "{\"cohortIds\":[2,1],\"metric\":\"sroi\",\"startDate\":\"2026-01-01\",\"endDate\":\"2026-02-28\"}");
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(fieldNames(a.json())).containsExactly("metric", "cohorts", "differences");
        JsonNode cohorts = a.json().get("cohorts");
        assertThat(cohorts.findValuesAsText("cohortId")).containsExactly("2", "1");
        JsonNode two = cohorts.get(0);   // u2: 5, 7, 9; u4: 4
        assertThat(two.get("count").asLong()).isEqualTo(4);
        assertThat(two.get("users").asLong()).isEqualTo(2);
        assertThat(two.get("avg").asDouble()).isCloseTo(6.25, within(1e-9));
        assertThat(two.get("min").asDouble()).isEqualTo(4.0);
        assertThat(two.get("max").asDouble()).isEqualTo(9.0);
        assertThat(two.get("p50").asDouble()).isCloseTo(7.0, withinPercentage(1));   // sorted 4,5,7,9: element 2
        assertThat(cohorts.get(1).get("count").asLong()).isEqualTo(6);
        assertThat(cohorts.get(1).get("p95").asDouble()).isEqualTo(11.0);
        // cohort 1 (1, 3, 11, 5, 7, 9: mean 6, s² 14) against the first, cohort 2 (mean 6.25, s² 59/12), by hand:
        // se² = 14/6 + (59/12)/4 = 3.5625, df = 3.5625² / ((7/3)²/5 + (59/48)²/3) = 7.96946, t(0.975, df) = 2.30754
        JsonNode diff = a.json().get("differences");
        assertThat(diff.size()).isEqualTo(1);
        assertThat(diff.get(0).get("cohortId").asLong()).isEqualTo(1);
        assertThat(diff.get(0).get("baseCohortId").asLong()).isEqualTo(2);
        assertThat(diff.get(0).get("difference").asDouble()).isCloseTo(-0.25, within(1e-9));
        assertThat(diff.get(0).get("confidence").asDouble()).isEqualTo(0.95);
        assertThat(diff.get(0).get("df").asDouble()).isCloseTo(7.969456910805456, within(1e-9));
        assertThat(diff.get(0).get("low").asDouble()).isCloseTo(-4.605392616915237, within(1e-9));
        assertThat(diff.get(0).get("high").asDouble()).isCloseTo(4.105392616915237, within(1e-9));
    }

    /**
     * Company coC (its own rows): cohort 10 = x1, x2; cohort 11 = x2, x3; cohort 12 = x3 (deleted later). x1: 10, 20;
     * x2: 30; x3: 1. Top from the gateway's membership cache, from ClickHouse's join (cache off) and with a cache
     * too small for the company must agree, and the cache must follow every replicated change at the next call.
     */
    @Test
    void topFromTheMembershipCacheEqualsTheClickHouseJoinAndFollowsEveryReplicatedChange() {
        ch.insertRows("cohorts", List.of(cohort(10, "coC", "ten", 0, 1), cohort(11, "coC", "eleven", 0, 1), cohort(12, "coC", "twelve", 0, 1)));
        ch.insertRows("user_cohorts", List.of(member(10, "coC", "x1", 1, 1), member(10, "coC", "x2", 1, 1),
                member(11, "coC", "x2", 1, 1), member(11, "coC", "x3", 1, 1), member(12, "coC", "x3", 1, 1)));
        ch.insertRows("metrics_timeseries", List.of(obs("coC", "sroi", "x1", "2026-01-05 10:00:00", 10, "c1"),
                obs("coC", "sroi", "x1", "2026-01-06 10:00:00", 20, "c2"), obs("coC", "sroi", "x2", "2026-01-07 10:00:00", 30, "c3"),
                obs("coC", "sroi", "x3", "2026-01-08 10:00:00", 1, "c4")));
        ch.execute(UserDailyMetrics.fillAll());
        CohortParams.DateRange range = new CohortParams.DateRange(java.time.LocalDate.parse("2026-01-01"), java.time.LocalDate.parse("2026-02-28"));
        MembershipCache cache = new MembershipCache(ch, 1_000);
        CohortQueries cached = new CohortQueries(ch, cache, CohortQueries.Source.USER_DAYS);
        CohortQueries joined = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.USER_DAYS);
        CohortQueries tooSmall = new CohortQueries(ch, new MembershipCache(ch, 4), CohortQueries.Source.OBSERVATIONS);

        List<CohortQueries.TopRow> expected = List.of(new CohortQueries.TopRow(10, 2, 3, 20.0),
                new CohortQueries.TopRow(11, 2, 2, 15.5), new CohortQueries.TopRow(12, 1, 1, 1.0));
        assertThat(cached.top("coC", "sroi", range, 10)).isEqualTo(expected);
        assertThat(cached.top("coC", "sroi", range, 2)).isEqualTo(expected.subList(0, 2));
        assertThat(joined.top("coC", "sroi", range, 10)).isEqualTo(expected);
        assertThat(tooSmall.top("coC", "sroi", range, 10)).as("5 memberships > 4: answered by the join").isEqualTo(expected);

        ch.insertRows("user_cohorts", List.of(member(10, "coC", "x1", 0, 2)));      // x1 leaves cohort 10
        ch.insertRows("cohorts", List.of(cohort(12, "coC", "twelve", 1, 2)));      // cohort 12 deleted
        List<CohortQueries.TopRow> after = List.of(new CohortQueries.TopRow(10, 1, 1, 30.0), new CohortQueries.TopRow(11, 2, 2, 15.5));
        assertThat(cached.top("coC", "sroi", range, 10)).as("the next call sees both changes").isEqualTo(after);
        assertThat(joined.top("coC", "sroi", range, 10)).isEqualTo(after);
    }

    /**
     * Company coD: user d1 is in both cohort 20 and cohort 21, d2 only in 21, with several observations each. The
     * ClickHouse join (cache off) must count d1 in both cohorts, with all of d1's observations in each: the contract of
     * 18.16's ANY INNER JOIN, which 24.x's ANY no longer keeps (one row per left key too), hence ALL over per-user rows.
     */
    @Test
    void aUserInTwoCohortsCountsInBothThroughTheClickHouseJoin() {
        ch.insertRows("cohorts", List.of(cohort(20, "coD", "twenty", 0, 1), cohort(21, "coD", "twenty-one", 0, 1)));
        ch.insertRows("user_cohorts", List.of(member(20, "coD", "d1", 1, 1), member(21, "coD", "d1", 1, 1),
                member(21, "coD", "d2", 1, 1)));
        ch.insertRows("metrics_timeseries", List.of(obs("coD", "sroi", "d1", "2026-01-05 10:00:00", 4, "d1a"),
                obs("coD", "sroi", "d1", "2026-01-06 10:00:00", 8, "d1b"), obs("coD", "sroi", "d2", "2026-01-07 10:00:00", 3, "d2a")));
        CohortParams.DateRange range = new CohortParams.DateRange(java.time.LocalDate.parse("2026-01-01"), java.time.LocalDate.parse("2026-02-28"));
        ch.execute(UserDailyMetrics.fillAll());
        CohortQueries joined = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        CohortQueries joinedDays = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.USER_DAYS);
        CohortQueries cached = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.USER_DAYS);

        List<CohortQueries.TopRow> expected = List.of(new CohortQueries.TopRow(20, 1, 2, 6.0), new CohortQueries.TopRow(21, 2, 3, 5.0));
        assertThat(joined.top("coD", "sroi", range, 10)).as("d1 counts in cohort 20 and in cohort 21").isEqualTo(expected);
        assertThat(joinedDays.top("coD", "sroi", range, 10)).as("the same from the per-user days").isEqualTo(expected);
        assertThat(cached.top("coD", "sroi", range, 10)).isEqualTo(expected);
    }

    /**
     * Issue 25: every endpoint's figures from the per-user days equal those from the observations — users, count,
     * avg, min, max, stddev exactly (to floating-point rounding), p50/p75/p95 within 1 % — on the hand-computed data
     * above, over ranges that cut days off at both ends and cover single days.
     */
    @Test
    void everyEndpointAnswersTheSameFromUserDaysAsFromObservations() {
        CohortQueries days = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.USER_DAYS);
        CohortQueries raw = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        CohortQueries.CohortRef one = raw.find(1, List.of("coA")).orElseThrow();
        List<CohortParams.DateRange> ranges = List.of(range("2026-01-01", "2026-02-28"), range("2026-01-06", "2026-02-27"),
                range("2026-01-05", "2026-01-05"), range("2025-12-31", "2026-03-01"), range("2027-01-01", "2027-01-31"));
        int compared = 0;
        for (CohortParams.DateRange r : ranges) {
            for (String metric : List.of("sroi", "hours")) {
                CohortAnswers.assertSame(days.metrics(one, metric, r), raw.metrics(one, metric, r), metric + " " + r);
                for (CohortParams.Interval interval : CohortParams.Interval.values()) {
                    List<CohortQueries.TrendRow> a = days.trends(one, metric, interval, r);
                    List<CohortQueries.TrendRow> b = raw.trends(one, metric, interval, r);
                    assertThat(a).hasSameSizeAs(b);
                    for (int i = 0; i < a.size(); i++) {
                        assertThat(a.get(i).periodStart()).isEqualTo(b.get(i).periodStart());
                        assertThat(a.get(i).count()).isEqualTo(b.get(i).count());
                        assertThat(a.get(i).avg()).isCloseTo(b.get(i).avg(), within(1e-9));
                    }
                }
                Map<Long, CohortQueries.Figures> ca = days.compare("coA", List.of(1L, 2L, 5L), metric, r);
                Map<Long, CohortQueries.Figures> cb = raw.compare("coA", List.of(1L, 2L, 5L), metric, r);
                assertThat(ca.keySet()).isEqualTo(cb.keySet());
                ca.forEach((id, f) -> CohortAnswers.assertSame(f, cb.get(id), "compare " + id + " " + metric + " " + r));
                assertThat(days.top("coA", metric, r, 10)).isEqualTo(raw.top("coA", metric, r, 10));
                compared++;
            }
            Map<String, CohortQueries.Figures> oa = days.overview(one, r);
            Map<String, CohortQueries.Figures> ob = raw.overview(one, r);
            assertThat(oa.keySet()).isEqualTo(ob.keySet());
            oa.forEach((m, f) -> CohortAnswers.assertSame(f, ob.get(m), "overview " + m + " " + r));
        }
        assertThat(compared).isEqualTo(10);
        assertThat(days.metrics(one, "sroi", ranges.get(0)).count()).as("the stale version was dropped").isEqualTo(6);
    }

    /**
     * The default source (COHORT_DAILY_AGGREGATES=true) reads, per request, the daily rows where the range's months
     * hold at least {@link CohortQueries#DAY_ROW_COST} observations per daily row, else the observations, with the same
     * answers. Two months of their own: 2030-03 has ten observations of one member on one day (one daily row: dense),
     * 2030-04 three observations on three days (three daily rows: sparse, like the benchmark's data).
     */
    @Test
    void theDefaultReadsWhicheverSourceReadsLessForTheRangesMonths() {
        assertThat(CohortQueries.cheaper(16, 10)).isEqualTo(CohortQueries.Source.USER_DAYS);
        assertThat(CohortQueries.cheaper(15, 10)).isEqualTo(CohortQueries.Source.OBSERVATIONS);
        assertThat(CohortQueries.cheaper(10, 10, CohortQueries.DAY_ROW_COST_TOP)).as("top reads no bins").isEqualTo(CohortQueries.Source.USER_DAYS);
        CohortQueries auto = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.CHEAPER);
        CohortQueries raw = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        CohortQueries.CohortRef one = raw.find(1, List.of("coA")).orElseThrow();
        String member = ch.query("SELECT user_id FROM (SELECT user_id, active FROM user_cohorts FINAL WHERE company_id = 'coA'"
                + " AND cohort_id = 1) WHERE active = 1 ORDER BY user_id LIMIT 1").get(0).get("user_id").asText();
        long march = 1_898_553_600L; // 2030-03-01T00:00:00Z
        long april = 1_901_232_000L; // 2030-04-01T00:00:00Z
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(observation(member, march + 3_600 + i, 1.5 * i, "auto-m" + i));
        }
        for (int i = 0; i < 3; i++) {
            rows.add(observation(member, april + 86_400L * i, 4.0 + i, "auto-a" + i));
        }
        ch.insertRows("metrics_timeseries", rows);
        ch.execute("INSERT INTO user_daily_metrics (" + UserDailyMetrics.COLUMNS + ") "
                + UserDailyMetrics.recompute("ts >= toDateTime(" + march + ") AND ts < toDateTime(" + (april + 30 * 86_400L) + ")"));
        CohortParams.DateRange dense = range("2030-03-01", "2030-03-31");
        CohortParams.DateRange sparse = range("2030-04-01", "2030-04-30");
        assertThat(auto.sourceFor(dense)).isEqualTo(CohortQueries.Source.USER_DAYS);
        assertThat(auto.sourceFor(sparse)).isEqualTo(CohortQueries.Source.OBSERVATIONS);
        assertThat(raw.sourceFor(dense)).as("a fixed source stays fixed").isEqualTo(CohortQueries.Source.OBSERVATIONS);
        for (CohortParams.DateRange r : List.of(dense, sparse, range("2030-03-01", "2030-04-30"))) {
            CohortAnswers.assertSame(auto.metrics(one, "sroi", r), raw.metrics(one, "sroi", r), "metrics " + r);
            assertThat(auto.top("coA", "sroi", r, 10)).isEqualTo(raw.top("coA", "sroi", r, 10));
        }
        assertThat(auto.metrics(one, "sroi", dense).count()).isEqualTo(10);
        assertThat(auto.metrics(one, "sroi", sparse).count()).isEqualTo(3);
    }

    private static Map<String, Object> observation(String user, long epochSecond, double value, String eventId) {
        String ts = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.ofEpochSecond(epochSecond));
        return row("company_id", "coA", "metric", "sroi", "user_id", user, "ts", ts, "ts_ms", epochSecond * 1000, "value", value,
                "event_id", eventId);
    }

    private static CohortParams.DateRange range(String from, String to) {
        return new CohortParams.DateRange(java.time.LocalDate.parse(from), java.time.LocalDate.parse(to));
    }

    @Test
    void topOrdersByAvgThenIdAndHonoursTheLimit() throws Exception {
        Answer a = http.get("/cohort/top?metric=sroi&" + RANGE, tokenA);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        JsonNode cohorts = a.json().get("cohorts");
        assertThat(cohorts.findValuesAsText("cohortId")).as("6.25 (2), 6.25 (5, tie broken by id), 6.0 (1); deleted 3 and coB's 4 absent")
                .containsExactly("2", "5", "1");
        assertThat(fieldNames(cohorts.get(0))).containsExactly("cohortId", "name", "users", "count", "avg");
        assertThat(cohorts.get(0).get("name").asText()).isEqualTo("beta");
        assertThat(cohorts.get(2).get("name").asText()).as("latest replicated version of the name").isEqualTo("alpha");
        assertThat(cohorts.get(2).get("users").asLong()).isEqualTo(2);
        assertThat(cohorts.get(2).get("count").asLong()).isEqualTo(6);
        assertThat(cohorts.get(2).get("avg").asDouble()).isCloseTo(6.0, within(1e-9));

        Answer two = http.get("/cohort/top?metric=sroi&limit=2&" + RANGE, tokenA);
        assertThat(two.json().get("cohorts").findValuesAsText("cohortId")).containsExactly("2", "5");
        Answer b = http.get("/cohort/top?metric=sroi&" + RANGE, fx.tokens.forCompany("coB"));
        assertThat(b.json().get("cohorts").findValuesAsText("cohortId")).containsExactly("4");
        assertThat(b.json().get("cohorts").get(0).get("avg").asDouble()).isEqualTo(1000.0);
    }

    @Test
    void cohortsOfOtherCompaniesDeletedOrUnknownAre404() throws Exception {
        String tokenB = fx.tokens.forCompany("coB");
        assertThat(http.get("/cohort/1/metrics?metric=sroi", tokenB).status()).isEqualTo(404);
        assertThat(http.get("/cohort/4/metrics?metric=sroi", tokenA).status()).isEqualTo(404);
        assertThat(http.get("/cohort/3/trends?metric=sroi", tokenA).status()).as("soft-deleted").isEqualTo(404);
        assertThat(http.get("/cohort/999/overview", tokenA).status()).isEqualTo(404);
        Answer cmp = http.send("POST", "/cohort/compare", tokenA, "{\"cohortIds\":[1,4],\"metric\":\"sroi\"}");
        assertThat(cmp.status()).isEqualTo(404);
        assertThat(cmp.error()).isEqualTo("cohort_not_found");
        assertThat(cmp.message()).contains("cohort 4");
        // the cohorts of a compare are looked up in one query: the first missing one in the asked order is named,
        // whether deleted (3), of another company (4) or unknown (999)
        for (String[] c : new String[][]{{"[1,3,999]", "cohort 3 "}, {"[2,999,1]", "cohort 999 "}, {"[4,3]", "cohort 4 "}}) {
            Answer missing = http.send("POST", "/cohort/compare", tokenA, "{\"cohortIds\":" + c[0] + ",\"metric\":\"sroi\"}");
            assertThat(missing.status()).as(c[0]).isEqualTo(404);
            assertThat(missing.message()).as(c[0]).startsWith(c[1]);
        }
        assertThat(http.send("POST", "/cohort/compare", tokenA, "{\"cohortIds\":[2,1],\"metric\":\"sroi\"}").status())
                .as("both live cohorts of coA").isEqualTo(200);
        assertThat(http.get("/cohort/1/metrics?metric=sroi", null).status()).isEqualTo(401);
        assertThat(http.get("/cohort/top?metric=sroi&companyId=coB", tokenA).status()).isEqualTo(403);
    }

    @Test
    void everyBadParameterIs400NamingTheField() throws Exception {
        Object[][] cases = {
                {"/cohort/1/metrics", "bad_metric"},
                {"/cohort/1/metrics?metric=SROI", "bad_metric"},
                {"/cohort/1/metrics?metric=sroi&startDate=2026-13-01", "bad_startDate"},
                {"/cohort/1/metrics?metric=sroi&startDate=20260101", "bad_startDate"},
                {"/cohort/1/metrics?metric=sroi&endDate=2026-02-30", "bad_endDate"},
                {"/cohort/1/metrics?metric=sroi&startDate=2026-02-01&endDate=2026-01-01", "bad_startDate"},
                {"/cohort/1/metrics?metric=sroi&startDate=1990-01-01&endDate=2026-01-01", "bad_endDate"},
                {"/cohort/abc/metrics?metric=sroi", "bad_id"},
                {"/cohort/0/metrics?metric=sroi", "bad_id"},
                {"/cohort/99999999999999999999/metrics?metric=sroi", "bad_id"},
                {"/cohort/1/trends?metric=sroi&interval=year", "bad_interval"},
                {"/cohort/1/overview?startDate=yesterday", "bad_startDate"},
                {"/cohort/top?metric=sroi&limit=0", "bad_limit"},
                {"/cohort/top?metric=sroi&limit=101", "bad_limit"},
                {"/cohort/top?metric=sroi&limit=1e9", "bad_limit"},
                {"/cohort/top?metric=sroi&limit=-1", "bad_limit"},
        };
        for (Object[] c : cases) {
            Answer a = http.get((String) c[0], tokenA);
            String field = ((String) c[1]).substring(4);
            assertThat(a.status()).as("%s -> %s", c[0], a.body()).isEqualTo(400);
            assertThat(a.error()).as((String) c[0]).isEqualTo(c[1]);
            assertThat(a.message()).as((String) c[0]).startsWith(field + ":");
        }
        String[][] bodies = {
                {"{\"cohortIds\":[1],\"metric\":\"sroi\"}", "bad_cohortIds"},
                {"{\"cohortIds\":[1,2,3,4,5,6,7,8,9,10,11],\"metric\":\"sroi\"}", "bad_cohortIds"},
                {"{\"cohortIds\":[1,\"2\"],\"metric\":\"sroi\"}", "bad_cohortIds"},
                {"{\"cohortIds\":[1,1],\"metric\":\"sroi\"}", "bad_cohortIds"},
                {"{\"cohortIds\":[1,2]}", "bad_metric"},
                {"{\"cohortIds\":[1,2],\"metric\":7}", "bad_metric"},
                {"{\"cohortIds\":[1,2],\"metric\":\"sroi\",\"endDate\":\"2026/01/01\"}", "bad_endDate"},
                {"[1,2]", "bad_body"},
                {"{not json", "bad_body"},
        };
        for (String[] c : bodies) {
            Answer a = http.send("POST", "/cohort/compare", tokenA, c[0]);
            assertThat(a.status()).as("%s -> %s", c[0], a.body()).isEqualTo(400);
            assertThat(a.error()).as(c[0]).isEqualTo(c[1]);
        }
    }

    @Test
    void hostileStringsInEveryParameterAreHarmless() throws Exception {
        long rowsBefore = ch.queryLong("SELECT count() AS c FROM metrics_timeseries");
        List<String> hostile = List.of("sroi' OR 1=1 --", "sroi\\' UNION SELECT 1 --", "'; DROP TABLE metrics_timeseries; --",
                "x".repeat(10_240), "ß€😀\u0000\u202e", "sroi\nFORMAT TSV", "1) OR (1=1");
        for (String h : hostile) {
            String e = URLEncoder.encode(h, StandardCharsets.UTF_8);
            for (String path : List.of("/cohort/1/metrics?metric=" + e, "/cohort/1/metrics?metric=sroi&startDate=" + e,
                    "/cohort/1/metrics?metric=sroi&endDate=" + e, "/cohort/1/trends?metric=sroi&interval=" + e,
                    "/cohort/top?metric=sroi&limit=" + e, "/cohort/top?metric=sroi&companyId=" + e,
                    "/cohort/" + e + "/overview")) {
                Answer a = http.get(path, tokenA);
                assertThat(a.status()).as("%s -> %s", path.length() > 120 ? path.substring(0, 120) : path, a.body())
                        .isIn(h.length() > 4_000 ? new Integer[]{400, 404, 414} : new Integer[]{400, 404}); // 414: Helidon refuses a 10 KB request line itself
                assertThat(a.body().length()).as("a hostile value is not echoed whole").isLessThan(2_000);
            }
            String json = io.csr.common.json.Json.mapper().writeValueAsString(Map.of("cohortIds", List.of(1, 2), "metric", h, "startDate", h));
            assertThat(http.send("POST", "/cohort/compare", tokenA, json).status()).as("in a body the 10 KB value reaches validation").isEqualTo(400);
        }
        assertThat(ch.queryLong("SELECT count() AS c FROM metrics_timeseries")).as("nothing was changed").isEqualTo(rowsBefore);
        assertThat(http.get("/cohort/1/metrics?metric=sroi&" + RANGE, tokenA).json().get("count").asLong()).isEqualTo(6);
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
