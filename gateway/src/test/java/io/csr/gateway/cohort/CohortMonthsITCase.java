package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortHttp.Answer;
import io.csr.gateway.cohort.CohortParams.DateRange;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

/**
 * Issue 25: the per-cohort monthly rows ({@code cohort_month_metrics}) give every endpoint the answers of the raw
 * observations — users, count, avg, min, max, stddev exactly (to floating-point rounding), p50/p75/p95 within 1 % —
 * and stop being used the moment what they were computed from changes: a member leaving, a late observation, a
 * replayed batch, a month dropped by retention. The distinct members ({@code users}) of the whole months come from the
 * month masks ({@code user_month_masks}). Company {@code coM} of its own: cohort 21 = u1, u2, u3; cohort 22 = u2, u4,
 * u6; cohort 23 = u5, deleted. Observations of sroi and hours in May, June and the first half of July 2026, and of u9
 * (no cohort); of sroi in December 2025 (u1, u2, u4) and in late July 2026 (u6 only).
 */
class CohortMonthsITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;

    @BeforeAll
    static void seed() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse();
        ch.insertRows("cohorts", List.of(CohortAnalyticsITCase.cohort(21, "coM", "m-alpha", 0, 1),
                CohortAnalyticsITCase.cohort(22, "coM", "m-beta", 0, 1),
                CohortAnalyticsITCase.cohort(23, "coM", "m-gone", 1, 2)));
        ch.insertRows("user_cohorts", List.of(CohortAnalyticsITCase.member(21, "coM", "u1", 1, 1),
                CohortAnalyticsITCase.member(21, "coM", "u2", 1, 1), CohortAnalyticsITCase.member(21, "coM", "u3", 1, 1),
                CohortAnalyticsITCase.member(22, "coM", "u2", 1, 1), CohortAnalyticsITCase.member(22, "coM", "u4", 1, 1),
                CohortAnalyticsITCase.member(23, "coM", "u5", 1, 1), CohortAnalyticsITCase.member(22, "coM", "u6", 1, 1)));
        List<Map<String, Object>> obs = new ArrayList<>();
        String[] users = {"u1", "u2", "u3", "u4", "u5", "u9"};
        int n = 0;
        for (LocalDate d = LocalDate.parse("2026-05-01"); !d.isAfter(LocalDate.parse("2026-07-15")); d = d.plusDays(3)) {
            for (int u = 0; u < users.length; u++) {
                if ((d.getDayOfMonth() + u) % 4 == 0) {
                    continue;
                }
                double value = ((d.getDayOfYear() * 37 + u * 11) % 97) / 4.0 - 3;
                obs.add(CohortAnalyticsITCase.obs("coM", "sroi", users[u], d + " 10:0" + (u % 10) + ":00", value, "m" + n++));
                if (u % 2 == 0) {
                    obs.add(CohortAnalyticsITCase.obs("coM", "hours", users[u], d + " 23:59:59", value * 2 + 1, "m" + n++));
                }
            }
        }
        // December 2025: a second year of month masks; u1 and u2 report in both years
        for (String u : List.of("u1", "u2", "u4")) {
            obs.add(CohortAnalyticsITCase.obs("coM", "sroi", u, "2025-12-0" + (u.charAt(1) - '0') + " 08:00:00", u.charAt(1) * 1.5, "d" + u));
        }
        // a day of u1 (cohort 21) whose values sum to exactly 0: the monthly rows keep no sum for it (sumMap drops it)
        obs.add(CohortAnalyticsITCase.obs("coM", "sroi", "u1", "2026-06-02 09:00:00", 2.5, "zero-a"));
        obs.add(CohortAnalyticsITCase.obs("coM", "sroi", "u1", "2026-06-02 17:00:00", -2.5, "zero-b"));
        // u6 (cohort 22) reports in July only: a member counts only in ranges with a month it has observations in
        obs.add(CohortAnalyticsITCase.obs("coM", "sroi", "u6", "2026-07-20 12:00:00", 4.25, "u6-july"));
        ch.insertRows("metrics_timeseries", obs);
    }

    static final List<DateRange> RANGES = List.of(range("2026-05-01", "2026-06-30"), range("2026-04-20", "2026-07-15"),
            range("2026-05-01", "2026-05-31"), range("2026-05-10", "2026-06-30"), range("2026-06-01", "2026-07-31"),
            range("2026-05-02", "2026-05-30"), range("2025-12-01", "2026-06-30"));
    /**
     * The ranges with a whole month (every one but 2026-05-02 – 2026-05-30), each asked 18 times per round (top also
     * with the memberships cached in the gateway; trends by day, week and month).
     */
    static final int PER_RANGE = 18;
    static final int MONTHLY_CALLS = PER_RANGE * 6;
    /** The months with the company's memberships cached in the gateway: top joins there. */
    static CohortQueries cachedMonthly;

    @Test
    void everyEndpointAnswersFromTheMonthsAsFromTheObservationsAndOnlyWhileTheyAreFresh() throws Exception {
        CohortMonths months = new CohortMonths(ch, Duration.ZERO);
        // what the months cannot serve is read from the observations (user_daily_metrics is not filled here)
        CohortQueries monthly = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, months);
        CohortQueries raw = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        cachedMonthly = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.OBSERVATIONS, months);
        DateRange mayJune = RANGES.get(0);
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).as("nothing computed yet").isEmpty();

        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("(cohort, month) headers: 2 live cohorts × December, May-July")
                .isEqualTo(8);
        assertThat(maskPartitions()).as("one mask computation per year").isEqualTo(2);
        CohortMonths.Plan plan = months.plan("coM", List.of(21L, 22L), "sroi", RANGES.get(1)).orElseThrow();
        assertThat(plan.used()).containsExactly(YearMonth.of(2026, 5), YearMonth.of(2026, 6));
        assertThat(plan.rest()).containsExactly(range("2026-04-20", "2026-04-30"), range("2026-07-01", "2026-07-15"));
        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("nothing changed: nothing recomputed").isZero();
        // served from the months: the bins' p50 differs from the exact element (by less than 0.5 %)
        assertThat(monthly.metrics(cohort(21), "sroi", mayJune).p50()).isNotEqualTo(raw.metrics(cohort(21), "sroi", mayJune).p50());
        assertThat(assertEverythingSame(monthly, raw, "fresh")).as("answers from the months").isEqualTo(MONTHLY_CALLS);
        long served = monthly.answeredFromMonths();
        assertThat(monthly.trends(cohort(21), "sroi", CohortParams.Interval.DAY, mayJune))
                .as("the day whose sum is 0, from June's row").contains(new CohortQueries.TrendRow(LocalDate.parse("2026-06-02"), 2, 0.0));
        assertThat(monthly.answeredFromMonths()).isEqualTo(served + 1);

        // months a computation from before 010_cohort_month_days.sql wrote (no day arrays): trends reads them from the
        // observations, the other endpoints keep them, and the refresh recomputes them
        ch.execute("INSERT INTO cohort_month_metrics (company_id, cohort_id, month, metric, count, sum, min, max, sum_sq, q_keys, q_counts,"
                + " users, input_mark, member_mark, refresh) SELECT company_id, cohort_id, month, metric, count, sum, min, max, sum_sq, q_keys,"
                + " q_counts, users, input_mark, member_mark, refresh + 1 FROM cohort_month_metrics FINAL WHERE company_id = 'coM' AND cohort_id = 21");
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).isPresent();
        assertThat(months.planDays("coM", List.of(21L), "sroi", mayJune)).isEmpty();
        assertThat(months.planDays("coM", List.of(22L), "sroi", mayJune)).isPresent();
        assertEverythingSame(monthly, raw, "months without their days");
        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("cohort 21's four months, for their days").isEqualTo(4);
        assertThat(months.planDays("coM", List.of(21L), "sroi", mayJune)).isPresent();
        assertThat(assertEverythingSame(monthly, raw, "days recomputed")).isEqualTo(MONTHLY_CALLS);

        // u3 leaves cohort 21: its months are stale for cohort 21 (and for top), not for 22
        ch.insertRows("user_cohorts", List.of(CohortAnalyticsITCase.member(21, "coM", "u3", 0, 2)));
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).isEmpty();
        assertThat(months.plan("coM", List.of(22L), "sroi", mayJune)).isPresent();
        assertEverythingSame(monthly, raw, "after a leave");
        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("cohort 21's four months").isEqualTo(4);
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).isPresent();
        assertThat(assertEverythingSame(monthly, raw, "after a leave, recomputed")).isEqualTo(MONTHLY_CALLS);

        // a late observation in May and a replayed copy of one in June: both months stale for every cohort
        ch.insertRows("metrics_timeseries", List.of(CohortAnalyticsITCase.obs("coM", "sroi", "u2", "2026-05-31 23:59:59", 1000, "late1")));
        ch.execute("INSERT INTO metrics_timeseries SELECT * FROM metrics_timeseries WHERE company_id = 'coM' AND toYYYYMM(ts) = 202606 LIMIT 1");
        assertThat(months.plan("coM", List.of(22L), "sroi", range("2026-05-01", "2026-05-31"))).isEmpty();
        assertThat(months.plan("coM", List.of(22L), "sroi", range("2026-06-01", "2026-06-30"))).isEmpty();
        assertThat(monthly.metrics(cohort(22), "sroi", mayJune).max()).isEqualTo(1000.0);
        assertEverythingSame(monthly, raw, "after a late observation and a replayed copy");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(maskPartitions()).as("the superseded computation of 2026 dropped").isEqualTo(2);
        assertThat(months.plan("coM", List.of(21L, 22L), "sroi", mayJune).orElseThrow().used()).hasSize(2);
        assertThat(monthly.metrics(cohort(22), "sroi", mayJune).max()).isEqualTo(1000.0);
        assertThat(assertEverythingSame(monthly, raw, "after a late observation and a replayed copy, recomputed")).isEqualTo(MONTHLY_CALLS);

        // a replayed batch of a whole month: the same distinct users, the mask recomputed over the copies
        ch.execute("INSERT INTO metrics_timeseries SELECT * FROM metrics_timeseries WHERE company_id = 'coM' AND toYYYYMM(ts) = 202606");
        assertEverythingSame(monthly, raw, "after a replayed month");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(assertEverythingSame(monthly, raw, "after a replayed month, recomputed")).isEqualTo(MONTHLY_CALLS);

        // a mask computation dropped under a reader (a newer one replaced it): the plan's check says so
        CohortMonths.Plan held = months.plan("coM", List.of(21L), "sroi", mayJune).orElseThrow();
        assertThat(months.masksWhole(held)).isTrue();
        for (long refresh : held.maskRows().keySet()) {
            ch.execute("ALTER TABLE user_month_masks DROP PARTITION " + refresh);
        }
        assertThat(months.masksWhole(held)).isFalse();
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).as("no whole mask computation of 2026").isEmpty();
        assertEverythingSame(monthly, raw, "without the masks of 2026");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(assertEverythingSame(monthly, raw, "masks recomputed")).isEqualTo(MONTHLY_CALLS);

        // through HTTP, refreshed through CohortApi (the fixture's gateway runs with the months off: the same answer)
        fx.gateway.cohorts().refreshCohortMonths("coM");
        ch.execute(io.csr.common.userdays.UserDailyMetrics.fillAll()); // the fixture's default source may read the daily rows
        CohortHttp http = new CohortHttp(fx.base());
        Answer a = http.get("/cohort/21/metrics?metric=sroi&startDate=2026-05-01&endDate=2026-06-30", fx.tokens.forCompany("coM"));
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        JsonNode j = a.json();
        CohortQueries.Figures f = raw.metrics(cohort(21), "sroi", mayJune);
        assertThat(j.get("count").asLong()).isEqualTo(f.count());
        assertThat(j.get("users").asLong()).isEqualTo(f.users());
        assertThat(j.get("avg").asDouble()).isCloseTo(f.avg(), within(1e-9));
        assertThat(j.get("p50").asDouble()).isCloseTo(f.p50(), withinPercentage(1));

        // retention drops May: its months and mask bits are stale at once, and recomputed without it
        ch.execute("ALTER TABLE metrics_timeseries DROP PARTITION 202605");
        assertThat(months.plan("coM", List.of(21L), "sroi", range("2026-05-01", "2026-05-31"))).isEmpty();
        assertEverythingSame(monthly, raw, "after May was dropped");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(assertEverythingSame(monthly, raw, "after May was dropped, recomputed")).as("the five ranges with June, July or December")
                .isEqualTo(PER_RANGE * 5);
        // and the year 2025 as a whole
        ch.execute("ALTER TABLE metrics_timeseries DROP PARTITION 202512");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(maskPartitions()).as("2025 has no month with observations: its masks dropped").isEqualTo(1);
        assertEverythingSame(monthly, raw, "after December 2025 was dropped, recomputed");
    }

    /** The mask computations held (one partition each). */
    private static long maskPartitions() {
        return ch.queryLong("SELECT uniqExact(partition_id) FROM system.parts WHERE database = currentDatabase()"
                + " AND table = 'user_month_masks' AND active");
    }

    /** Asserts every endpoint answers as the observations do; returns how many of those answers came from the months. */
    private static long assertEverythingSame(CohortQueries monthly, CohortQueries raw, String when) {
        long before = monthly.answeredFromMonths() + cachedMonthly.answeredFromMonths();
        for (DateRange r : RANGES) {
            for (long id : List.of(21L, 22L)) {
                for (String metric : List.of("sroi", "hours")) {
                    CohortAnswers.assertSame(monthly.metrics(cohort(id), metric, r), raw.metrics(cohort(id), metric, r), when + ": metrics " + id + " " + metric + " " + r);
                }
                for (CohortParams.Interval interval : CohortParams.Interval.values()) {
                    assertSameTrend(monthly.trends(cohort(id), "sroi", interval, r), raw.trends(cohort(id), "sroi", interval, r),
                            when + ": trends " + id + " sroi " + interval + " " + r);
                }
                Map<String, CohortQueries.Figures> oa = monthly.overview(cohort(id), r);
                Map<String, CohortQueries.Figures> ob = raw.overview(cohort(id), r);
                assertThat(oa.keySet()).as(when + ": overview " + r).isEqualTo(ob.keySet());
                oa.forEach((m, f) -> CohortAnswers.assertSame(f, ob.get(m), when + ": overview " + id + " " + m + " " + r));
            }
            for (String metric : List.of("sroi", "hours")) {
                Map<Long, CohortQueries.Figures> ca = monthly.compare("coM", List.of(22L, 21L), metric, r);
                Map<Long, CohortQueries.Figures> cb = raw.compare("coM", List.of(22L, 21L), metric, r);
                assertThat(ca.keySet()).as(when + ": compare " + r).isEqualTo(cb.keySet());
                ca.forEach((id, f) -> CohortAnswers.assertSame(f, cb.get(id), when + ": compare " + id + " " + metric + " " + r));
                int limit = metric.equals("sroi") ? 10 : 1; // the distinct members are merged for the ranked first only
                List<CohortQueries.TopRow> tb = raw.top("coM", metric, r, limit);
                assertSameTop(monthly.top("coM", metric, r, limit), tb, when + ": top " + metric + " " + r);
                assertSameTop(cachedMonthly.top("coM", metric, r, limit), tb, when + ": top, cached memberships, " + metric + " " + r);
            }
        }
        return monthly.answeredFromMonths() + cachedMonthly.answeredFromMonths() - before;
    }

    static void assertSameTrend(List<CohortQueries.TrendRow> ta, List<CohortQueries.TrendRow> tb, String what) {
        assertThat(ta).as(what).hasSameSizeAs(tb);
        for (int i = 0; i < ta.size(); i++) {
            assertThat(ta.get(i).periodStart()).as(what).isEqualTo(tb.get(i).periodStart());
            assertThat(ta.get(i).count()).as(what).isEqualTo(tb.get(i).count());
            assertThat(ta.get(i).avg()).as(what).isCloseTo(tb.get(i).avg(), within(1e-9));
        }
    }

    static void assertSameTop(List<CohortQueries.TopRow> ta, List<CohortQueries.TopRow> tb, String what) {
        assertThat(ta).as(what).hasSameSizeAs(tb);
        for (int i = 0; i < ta.size(); i++) {
            assertThat(ta.get(i).cohortId()).as(what).isEqualTo(tb.get(i).cohortId());
            assertThat(ta.get(i).users()).as(what).isEqualTo(tb.get(i).users());
            assertThat(ta.get(i).count()).as(what).isEqualTo(tb.get(i).count());
            assertThat(ta.get(i).avg()).as(what).isCloseTo(tb.get(i).avg(), within(1e-9));
        }
    }

    private static CohortQueries.CohortRef cohort(long id) {
        return new CohortQueries.CohortRef(id, "coM", "c" + id);
    }

    private static DateRange range(String from, String to) {
        return new DateRange(LocalDate.parse(from), LocalDate.parse(to));
    }
}
