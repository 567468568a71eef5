package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import io.csr.gateway.cohort.CohortParams.DateRange;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The per-cohort months of a large company are computed in statements of bounded size (cohort batches per month, the
 * year's masks staged by slices of a month and merged by ranges of the user hash); a pass split that way writes the rows an
 * unsplit pass writes, and both are the figures of the observations ({@code FINAL}) of the current members. Company
 * {@code coS} in a namespace of its own: cohorts 31 = u1, u2, u3; 32 = u2, u3, u4, u5; 33 = u1, u5; u9 in none.
 * Observations of sroi and hours in March and April 2026, a replayed copy of some (FINAL drops it) and a day of u1
 * whose values sum to exactly 0. The second test takes April as the open month (today 2026-04-18): its days per cohort
 * and day ({@code cohort_day_metrics}, {@code user_day_masks}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CohortMonthsSplitITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;
    static final List<Long> COHORTS = List.of(31L, 32L, 33L);
    static final List<YearMonth> MONTHS = List.of(YearMonth.of(2026, 3), YearMonth.of(2026, 4));

    @BeforeAll
    static void seed() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse();
        ch.insertRows("cohorts", COHORTS.stream().map(id -> CohortAnalyticsITCase.cohort(id, "coS", "s" + id, 0, 1)).toList());
        List<Map<String, Object>> members = new ArrayList<>();
        Map<Long, List<String>> of = Map.of(31L, List.of("u1", "u2", "u3"), 32L, List.of("u2", "u3", "u4", "u5"), 33L, List.of("u1", "u5"));
        of.forEach((id, users) -> users.forEach(u -> members.add(CohortAnalyticsITCase.member(id, "coS", u, 1, 1))));
        ch.insertRows("user_cohorts", members);
        List<Map<String, Object>> obs = new ArrayList<>();
        String[] users = {"u1", "u2", "u3", "u4", "u5", "u9"};
        int n = 0;
        for (LocalDate d = LocalDate.parse("2026-03-01"); d.isBefore(LocalDate.parse("2026-05-01")); d = d.plusDays(2)) {
            for (int u = 0; u < users.length; u++) {
                if ((d.getDayOfMonth() + u) % 5 == 0) {
                    continue;
                }
                double value = ((d.getDayOfYear() * 31 + u * 17) % 89) / 8.0 - 2;
                obs.add(CohortAnalyticsITCase.obs("coS", "sroi", users[u], d + " 0" + u + ":15:00", value, "s" + n++));
                obs.add(CohortAnalyticsITCase.obs("coS", "hours", users[u], d + " 1" + u + ":45:00", value * 3 + 0.5, "s" + n++));
            }
        }
        obs.add(CohortAnalyticsITCase.obs("coS", "sroi", "u1", "2026-04-04 09:00:00", 7.75, "zero-a"));
        obs.add(CohortAnalyticsITCase.obs("coS", "sroi", "u1", "2026-04-04 21:00:00", -7.75, "zero-b"));
        ch.insertRows("metrics_timeseries", obs);
        // a replayed batch: the same rows again in a part of their own, which FINAL drops
        ch.execute("INSERT INTO metrics_timeseries SELECT * FROM metrics_timeseries WHERE company_id = 'coS' AND toDayOfMonth(ts) < 8");
    }

    @Test
    @Order(1)
    void aSplitPassWritesTheRowsOfAnUnsplitOneAndTheFiguresOfTheObservations() {
        CohortMonths whole = new CohortMonths(ch, Duration.ZERO);
        CohortMonths split = new CohortMonths(ch, Duration.ZERO, 1, 20); // every cohort its own statement, masks in slices and ranges of 20 rows

        assertThat(whole.compute("coS", COHORTS, MONTHS)).as("(cohort, month) headers").isEqualTo(6);
        assertThat(whole.lastFigureStatements).as("one statement per month").isEqualTo(2);
        List<JsonNode> unsplit = figures(lastRefresh());
        assertThat(split.compute("coS", COHORTS, MONTHS)).isEqualTo(6);
        assertThat(split.lastFigureStatements).as("one statement per cohort and month").isEqualTo(6);
        List<JsonNode> splitRows = figures(lastRefresh());

        List<JsonNode> observed = ch.query("SELECT cohort_id, toString(toStartOfMonth(ts)) AS m, metric, count() AS count, sum(value) AS sum,"
                + " min(value) AS min, max(value) AS max, sum(value * value) AS sum_sq, toUInt64(uniqExact(user_id)) AS users"
                + " FROM (SELECT user_id, ts, metric, value FROM metrics_timeseries FINAL WHERE company_id = 'coS')"
                + " ALL INNER JOIN (SELECT cohort_id, user_id FROM user_cohorts FINAL WHERE company_id = 'coS' AND active = 1) USING user_id"
                + " GROUP BY cohort_id, m, metric ORDER BY cohort_id, m, metric");
        assertThat(unsplit).as("3 cohorts × 2 months × 2 metrics").hasSize(12);
        assertThat(splitRows).hasSameSizeAs(unsplit);
        assertThat(observed).hasSameSizeAs(unsplit);
        for (int i = 0; i < unsplit.size(); i++) {
            JsonNode a = splitRows.get(i);
            JsonNode b = unsplit.get(i);
            JsonNode o = observed.get(i);
            String what = b.get("cohort_id") + " " + b.get("m") + " " + b.get("metric");
            for (String exact : List.of("cohort_id", "m", "metric", "count", "min", "max", "q_keys", "q_counts", "day_keys", "day_counts",
                    "day_sum_keys", "users")) {
                assertThat(a.get(exact)).as("split against unsplit: " + exact + " of " + what).isEqualTo(b.get(exact));
            }
            for (String exact : List.of("cohort_id", "m", "metric", "count", "min", "max", "users")) {
                assertThat(a.get(exact).asText()).as("split against the observations: " + exact + " of " + what).isEqualTo(o.get(exact).asText());
            }
            for (String sum : List.of("sum", "sum_sq")) {
                assertThat(a.get(sum).asDouble()).as(sum + " of " + what).isCloseTo(b.get(sum).asDouble(), within(1e-9))
                        .isCloseTo(o.get(sum).asDouble(), within(1e-9));
            }
            assertThat(a.get("day_sums").toString()).as("day sums of " + what).isEqualTo(b.get("day_sums").toString());
        }

        assertThat(whole.computeMasks(2026, MONTHS)).isTrue();
        List<JsonNode> masksUnsplit = masks(lastMaskRefresh());
        assertThat(split.computeMasks(2026, MONTHS)).isTrue();
        assertThat(split.lastMaskStatements).as("two months staged in slices, then merged by ranges of the user hash")
                .isGreaterThan(whole.lastMaskStatements);
        List<JsonNode> masksSplit = masks(lastMaskRefresh());
        List<JsonNode> observedMasks = ch.query("SELECT metric, toString(cityHash64(user_id)) AS u, groupBitOr(toUInt16(bitShiftLeft(toUInt16(1),"
                + " toMonth(ts) - 1))) AS mask FROM metrics_timeseries FINAL WHERE company_id = 'coS' GROUP BY metric, u ORDER BY metric, u");
        assertThat(observedMasks).as("2 metrics × 6 users").hasSize(12);
        assertThat(masksSplit).as("one row per (metric, user), as the observations").isEqualTo(observedMasks);
        assertThat(masksUnsplit).isEqualTo(observedMasks);
        assertThat(ch.queryLong("SELECT uniqExact(partition_id) FROM system.parts WHERE database = currentDatabase()"
                + " AND table = 'user_month_masks' AND active")).as("the two computations, no staging left").isEqualTo(2);
    }

    static final LocalDate TODAY = LocalDate.parse("2026-04-18");
    static final YearMonth APRIL = YearMonth.of(2026, 4);
    /** Ranges with April days but not the whole of April (the first test computed March and April as months). */
    static final List<DateRange> DAY_RANGES = List.of(range("2026-04-01", "2026-04-29"), range("2026-04-03", "2026-04-20"),
            range("2026-03-01", "2026-04-29"), range("2026-03-10", "2026-04-12"), range("2026-04-04", "2026-04-04"));

    /**
     * The open month per cohort and day: every endpoint answers from the March month and the April days as the
     * observations do (users exactly), a day stops being used as soon as a part that spans it arrives (a late
     * observation) or a member leaves, today is always read from the observations, and a split computation writes the
     * rows and masks of an unsplit one, both equal to the observations'.
     */
    @Test
    @Order(2)
    void theOpenMonthIsServedPerCohortAndDayAsTheObservationsAre() {
        CohortMonths months = new CohortMonths(ch, Duration.ZERO).openMonthDaysFrom(0); // a few rows: through the days all the same
        CohortQueries daily = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, months);
        CohortQueries cached = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.OBSERVATIONS, months);
        CohortQueries raw = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        // a background merge of April's parts would change every day's mark (correct, recomputed, but not what this test
        // counts): the parts stay as inserted
        ch.execute("SYSTEM STOP MERGES metrics_timeseries");
        // an observation of today: never computed, always read
        ch.insertRows("metrics_timeseries", List.of(CohortAnalyticsITCase.obs("coS", "sroi", "u2", "2026-04-18 08:00:00", 42.5, "today1")));

        // below the threshold (COHORT_OPEN_MONTH_DAYS_FROM_ROWS) the refresh computes no day: no request would read one
        long aprilRows = ch.queryLong("SELECT sum(rows) FROM system.parts WHERE database = currentDatabase() AND table = 'metrics_timeseries'"
                + " AND active AND partition_id = '202604'");
        CohortMonths below = new CohortMonths(ch, Duration.ZERO).openMonthDaysFrom(aprilRows + 1);
        assertThat(below.refreshDays("coS", TODAY, COHORTS)).as("below the threshold: no (cohort, day) header").isZero();
        assertThat(ch.queryLong("SELECT count() FROM cohort_day_metrics")).as("below the threshold: no day row").isZero();
        assertThat(ch.queryLong("SELECT count() FROM user_day_masks")).as("below the threshold: no day mask").isZero();
        CohortQueries belowQueries = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, below);
        CohortQueries belowCached = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.OBSERVATIONS, below);
        assertThat(assertDaysSame(belowQueries, belowCached, raw, "no days computed")).as("only the range with March whole, from its month")
                .isEqualTo(18);
        // at the threshold it does: April's parts span the 2nd to the 30th, every day of them but today, for each cohort
        CohortMonths at = new CohortMonths(ch, Duration.ZERO).openMonthDaysFrom(aprilRows);
        assertThat(at.refreshDays("coS", TODAY, COHORTS)).as("(cohort, day) headers: 3 cohorts × 28 days").isEqualTo(84);
        assertThat(ch.queryLong("SELECT count() FROM cohort_day_metrics WHERE metric != ''")).as("day rows").isPositive();
        assertThat(ch.queryLong("SELECT count() FROM user_day_masks WHERE company_id != ''")).as("day masks").isPositive();
        assertThat(months.refreshDays("coS", TODAY, COHORTS)).as("nothing changed: nothing recomputed").isZero();
        CohortMonths.Plan plan = months.plan("coS", List.of(31L, 32L), "sroi", range("2026-04-01", "2026-04-29")).orElseThrow();
        assertThat(plan.used()).isEmpty();
        assertThat(plan.usedDays()).hasSize(27).doesNotContain(TODAY);
        assertThat(plan.rest()).containsExactly(range("2026-04-01", "2026-04-01"), range("2026-04-18", "2026-04-18"));
        assertThat(assertDaysSame(daily, cached, raw, "fresh")).as("every range served from the days").isEqualTo(DAY_RANGES.size() * 18);
        // below OPEN_MONTH_DAYS_FROM_ROWS observations in April's partition the days cost more than they save: April is read
        // from the observations as before the days existed (March still from its month), with the same answers
        CohortMonths byDefault = new CohortMonths(ch, Duration.ZERO);
        DateRange april = range("2026-04-01", "2026-04-29");
        assertThat(byDefault.plan("coS", List.of(31L, 32L), "sroi", april, CohortMonths.OPEN_MONTH_DAYS_FROM_ROWS - 1)).isEmpty();
        assertThat(byDefault.plan("coS", List.of(31L, 32L), "sroi", april, CohortMonths.OPEN_MONTH_DAYS_FROM_ROWS).orElseThrow().usedDays())
                .hasSize(27);
        CohortQueries cheaper = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, byDefault);
        CohortQueries cheaperCached = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.OBSERVATIONS, byDefault);
        assertThat(assertDaysSame(cheaper, cheaperCached, raw, "April below the threshold")).as("only the range with March whole, from its month")
                .isEqualTo(18);

        // a late observation on the 5th: a part spanning that day only, so only the 5th is stale
        ch.insertRows("metrics_timeseries", List.of(CohortAnalyticsITCase.obs("coS", "sroi", "u3", "2026-04-05 12:00:00", -50, "late5")));
        assertThat(months.plan("coS", List.of(31L), "sroi", range("2026-04-01", "2026-04-29")).orElseThrow().usedDays())
                .hasSize(26).doesNotContain(LocalDate.parse("2026-04-05"));
        assertDaysSame(daily, cached, raw, "after a late observation");
        assertThat(months.refreshDays("coS", TODAY, COHORTS)).as("the 5th of 3 cohorts").isEqualTo(3);
        assertThat(assertDaysSame(daily, cached, raw, "after a late observation, recomputed")).isEqualTo(DAY_RANGES.size() * 18);

        // today's inserts change no computed day
        ch.insertRows("metrics_timeseries", List.of(CohortAnalyticsITCase.obs("coS", "hours", "u5", "2026-04-18 09:00:00", 7, "today2")));
        assertThat(months.refreshDays("coS", TODAY, COHORTS)).isZero();
        assertThat(assertDaysSame(daily, cached, raw, "after today's inserts")).isEqualTo(DAY_RANGES.size() * 18);

        // u4 leaves cohort 32: its days are stale (and top's, which reads every cohort), 31's are not
        ch.insertRows("user_cohorts", List.of(CohortAnalyticsITCase.member(32, "coS", "u4", 0, 2)));
        assertThat(months.plan("coS", List.of(32L), "sroi", range("2026-04-01", "2026-04-29"))).isEmpty();
        assertThat(months.plan("coS", List.of(31L), "sroi", range("2026-04-01", "2026-04-29"))).isPresent();
        assertDaysSame(daily, cached, raw, "after a leave");
        assertThat(months.refreshDays("coS", TODAY, COHORTS)).as("cohort 32's 28 days").isEqualTo(28);
        assertThat(assertDaysSame(daily, cached, raw, "after a leave, recomputed")).isEqualTo(DAY_RANGES.size() * 18);

        // split into one statement per cohort, masks in slices of 20 rows: the same rows, and those of the observations
        CohortMonths split = new CohortMonths(ch, Duration.ZERO, 1, 20);
        List<LocalDate> days = new ArrayList<>();
        for (LocalDate d = LocalDate.parse("2026-04-02"); !d.isAfter(APRIL.atEndOfMonth()); d = d.plusDays(1)) {
            if (!d.equals(TODAY)) {
                days.add(d);
            }
        }
        assertThat(months.computeDays("coS", COHORTS, APRIL, days)).isEqualTo(84);
        assertThat(months.lastDayStatements).as("one statement").isEqualTo(1);
        List<JsonNode> unsplit = dayFigures(lastDayRefresh());
        assertThat(split.computeDays("coS", COHORTS, APRIL, days)).isEqualTo(84);
        assertThat(split.lastDayStatements).as("one statement per cohort").isEqualTo(3);
        List<JsonNode> splitRows = dayFigures(lastDayRefresh());
        List<JsonNode> observed = ch.query("SELECT cohort_id, toString(toDate(ts)) AS d, metric, count() AS count, sum(value) AS sum,"
                + " min(value) AS min, max(value) AS max, sum(value * value) AS sum_sq FROM (SELECT user_id, ts, metric, value FROM metrics_timeseries FINAL"
                + " WHERE company_id = 'coS' AND toYYYYMM(ts) = 202604 AND toDate(ts) != '2026-04-18')"
                + " ALL INNER JOIN (SELECT cohort_id, user_id FROM (SELECT cohort_id, user_id, active FROM user_cohorts FINAL WHERE company_id = 'coS')"
                + " WHERE active = 1) USING user_id GROUP BY cohort_id, d, metric ORDER BY cohort_id, d, metric");
        assertThat(observed).as("rows of April").hasSizeGreaterThan(60);
        assertThat(splitRows).hasSameSizeAs(observed);
        assertThat(unsplit).hasSameSizeAs(observed);
        for (int i = 0; i < observed.size(); i++) {
            JsonNode a = splitRows.get(i);
            JsonNode o = observed.get(i);
            String what = o.get("cohort_id") + " " + o.get("d") + " " + o.get("metric");
            for (String exact : List.of("cohort_id", "d", "metric", "count", "min", "max")) {
                assertThat(a.get(exact).asText()).as("split against the observations: " + exact + " of " + what).isEqualTo(o.get(exact).asText());
            }
            for (String exact : List.of("cohort_id", "d", "metric", "count", "min", "max", "q_keys", "q_counts")) {
                assertThat(a.get(exact)).as("split against unsplit: " + exact + " of " + what).isEqualTo(unsplit.get(i).get(exact));
            }
            for (String sum : List.of("sum", "sum_sq")) {
                assertThat(a.get(sum).asDouble()).as(sum + " of " + what).isCloseTo(o.get(sum).asDouble(), within(1e-9));
            }
        }
        assertThat(split.computeDayMasks(APRIL, days)).isTrue();
        assertThat(split.lastDayMaskStatements).as("staged in slices, merged by ranges").isGreaterThan(2);
        List<JsonNode> observedMasks = ch.query("SELECT metric, toString(cityHash64(user_id)) AS u, groupBitOr(toUInt32(bitShiftLeft(toUInt32(1),"
                + " toDayOfMonth(ts) - 1))) AS mask FROM metrics_timeseries FINAL WHERE company_id = 'coS' AND toYYYYMM(ts) = 202604"
                + " AND toDate(ts) != '2026-04-18' GROUP BY metric, u ORDER BY metric, u");
        assertThat(ch.query("SELECT metric, toString(u) AS u, mask FROM user_day_masks WHERE company_id = 'coS' AND refresh = (SELECT max(refresh)"
                + " FROM user_day_masks WHERE company_id = '') ORDER BY metric, u")).as("one row per (metric, user), as the observations")
                .isEqualTo(observedMasks);
        assertThat(assertDaysSame(daily, cached, raw, "split computation")).isEqualTo(DAY_RANGES.size() * 18);
    }

    /** Every endpoint over {@link #DAY_RANGES} against the observations; returns how many answers came from months or days. */
    private static long assertDaysSame(CohortQueries daily, CohortQueries cached, CohortQueries raw, String when) {
        long before = daily.answeredFromMonths() + cached.answeredFromMonths();
        for (DateRange r : DAY_RANGES) {
            for (long id : List.of(31L, 32L)) {
                CohortQueries.CohortRef c = new CohortQueries.CohortRef(id, "coS", "s" + id);
                for (String metric : List.of("sroi", "hours")) {
                    CohortAnswers.assertSame(daily.metrics(c, metric, r), raw.metrics(c, metric, r), when + ": metrics " + id + " " + metric + " " + r);
                }
                for (CohortParams.Interval interval : CohortParams.Interval.values()) {
                    CohortMonthsITCase.assertSameTrend(daily.trends(c, "sroi", interval, r), raw.trends(c, "sroi", interval, r),
                            when + ": trends " + id + " " + interval + " " + r);
                }
                Map<String, CohortQueries.Figures> oa = daily.overview(c, r);
                Map<String, CohortQueries.Figures> ob = raw.overview(c, r);
                assertThat(oa.keySet()).as(when + ": overview " + r).isEqualTo(ob.keySet());
                oa.forEach((m, f) -> CohortAnswers.assertSame(f, ob.get(m), when + ": overview " + id + " " + m + " " + r));
            }
            for (String metric : List.of("sroi", "hours")) {
                Map<Long, CohortQueries.Figures> ca = daily.compare("coS", COHORTS, metric, r);
                Map<Long, CohortQueries.Figures> cb = raw.compare("coS", COHORTS, metric, r);
                assertThat(ca.keySet()).as(when + ": compare " + r).isEqualTo(cb.keySet());
                ca.forEach((id, f) -> CohortAnswers.assertSame(f, cb.get(id), when + ": compare " + id + " " + metric + " " + r));
                List<CohortQueries.TopRow> tb = raw.top("coS", metric, r, 10);
                CohortMonthsITCase.assertSameTop(daily.top("coS", metric, r, 10), tb, when + ": top " + metric + " " + r);
                CohortMonthsITCase.assertSameTop(cached.top("coS", metric, r, 10), tb, when + ": top, cached, " + metric + " " + r);
            }
        }
        return daily.answeredFromMonths() + cached.answeredFromMonths() - before;
    }

    private static long lastDayRefresh() {
        return ch.queryLong("SELECT max(refresh) FROM cohort_day_metrics WHERE company_id = 'coS'");
    }

    private static List<JsonNode> dayFigures(long refresh) {
        return ch.query("SELECT cohort_id, toString(day) AS d, metric, count, sum, min, max, sum_sq, q_keys, q_counts FROM cohort_day_metrics"
                + " WHERE company_id = 'coS' AND metric != '' AND refresh = " + refresh + " ORDER BY cohort_id, d, metric");
    }

    private static DateRange range(String from, String to) {
        return new DateRange(LocalDate.parse(from), LocalDate.parse(to));
    }

    private static long lastRefresh() {
        return ch.queryLong("SELECT max(refresh) FROM cohort_month_metrics WHERE company_id = 'coS'");
    }

    private static long lastMaskRefresh() {
        return ch.queryLong("SELECT max(refresh) FROM user_month_masks WHERE company_id = '' AND year = 2026");
    }

    private static List<JsonNode> figures(long refresh) {
        return ch.query("SELECT cohort_id, toString(month) AS m, metric, count, sum, min, max, sum_sq, q_keys, q_counts, day_keys, day_counts,"
                + " day_sum_keys, day_sums, toUInt64(finalizeAggregation(users)) AS users FROM cohort_month_metrics WHERE company_id = 'coS'"
                + " AND metric != '' AND refresh = " + refresh + " ORDER BY cohort_id, m, metric");
    }

    private static List<JsonNode> masks(long refresh) {
        return ch.query("SELECT metric, toString(u) AS u, mask FROM user_month_masks WHERE company_id = 'coS' AND refresh = " + refresh
                + " ORDER BY metric, u");
    }
}
