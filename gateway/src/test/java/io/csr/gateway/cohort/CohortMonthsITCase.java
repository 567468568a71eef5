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
 * replayed batch. Company {@code coM} of its own: cohort 21 = u1, u2, u3; cohort 22 = u2, u4; cohort 23 = u5, deleted.
 * Observations of sroi and hours in May, June and the first half of July 2026, and of u9 (no cohort).
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
                CohortAnalyticsITCase.member(23, "coM", "u5", 1, 1)));
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
        ch.insertRows("metrics_timeseries", obs);
    }

    static final List<DateRange> RANGES = List.of(range("2026-05-01", "2026-06-30"), range("2026-04-20", "2026-07-15"),
            range("2026-05-01", "2026-05-31"), range("2026-05-10", "2026-06-30"), range("2026-06-01", "2026-07-31"),
            range("2026-05-02", "2026-05-30"));

    @Test
    void everyEndpointAnswersFromTheMonthsAsFromTheObservationsAndOnlyWhileTheyAreFresh() throws Exception {
        CohortMonths months = new CohortMonths(ch, Duration.ZERO);
        // what the months cannot serve is read from the observations (user_daily_metrics is not filled here)
        CohortQueries monthly = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, months);
        CohortQueries raw = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS);
        DateRange mayJune = RANGES.get(0);
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).as("nothing computed yet").isEmpty();

        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("(cohort, month) headers: 2 live cohorts × May-July at least")
                .isGreaterThanOrEqualTo(6);
        CohortMonths.Plan plan = months.plan("coM", List.of(21L, 22L), "sroi", RANGES.get(1)).orElseThrow();
        assertThat(plan.used()).containsExactly(YearMonth.of(2026, 5), YearMonth.of(2026, 6));
        assertThat(plan.rest()).containsExactly(range("2026-04-20", "2026-04-30"), range("2026-07-01", "2026-07-15"));
        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("nothing changed: nothing recomputed").isZero();
        // served from the months: the bins' p50 differs from the exact element (by less than 0.5 %)
        assertThat(monthly.metrics(cohort(21), "sroi", mayJune).p50()).isNotEqualTo(raw.metrics(cohort(21), "sroi", mayJune).p50());
        assertEverythingSame(monthly, raw, "fresh");

        // u3 leaves cohort 21: its months are stale for cohort 21 (and for top), not for 22
        ch.insertRows("user_cohorts", List.of(CohortAnalyticsITCase.member(21, "coM", "u3", 0, 2)));
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).isEmpty();
        assertThat(months.plan("coM", List.of(22L), "sroi", mayJune)).isPresent();
        assertEverythingSame(monthly, raw, "after a leave");
        assertThat(months.refresh("coM", YearMonth.of(2026, 8))).as("cohort 21's three months").isEqualTo(3);
        assertThat(months.plan("coM", List.of(21L), "sroi", mayJune)).isPresent();
        assertEverythingSame(monthly, raw, "after a leave, recomputed");

        // a late observation in May and a replayed copy of one in June: both months stale for every cohort
        ch.insertRows("metrics_timeseries", List.of(CohortAnalyticsITCase.obs("coM", "sroi", "u2", "2026-05-31 23:59:59", 1000, "late1")));
        ch.execute("INSERT INTO metrics_timeseries SELECT * FROM metrics_timeseries WHERE company_id = 'coM' AND toYYYYMM(ts) = 202606 LIMIT 1");
        assertThat(months.plan("coM", List.of(22L), "sroi", range("2026-05-01", "2026-05-31"))).isEmpty();
        assertThat(months.plan("coM", List.of(22L), "sroi", range("2026-06-01", "2026-06-30"))).isEmpty();
        assertThat(monthly.metrics(cohort(22), "sroi", mayJune).max()).isEqualTo(1000.0);
        assertEverythingSame(monthly, raw, "after a late observation and a replayed copy");
        months.refresh("coM", YearMonth.of(2026, 8));
        assertThat(months.plan("coM", List.of(21L, 22L), "sroi", mayJune).orElseThrow().used()).hasSize(2);
        assertThat(monthly.metrics(cohort(22), "sroi", mayJune).max()).isEqualTo(1000.0);
        assertEverythingSame(monthly, raw, "after a late observation and a replayed copy, recomputed");

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
    }

    private static void assertEverythingSame(CohortQueries monthly, CohortQueries raw, String when) {
        for (DateRange r : RANGES) {
            for (long id : List.of(21L, 22L)) {
                for (String metric : List.of("sroi", "hours")) {
                    CohortAnalyticsITCase.assertSame(monthly.metrics(cohort(id), metric, r), raw.metrics(cohort(id), metric, r), when + ": metrics " + id + " " + metric + " " + r);
                }
                Map<String, CohortQueries.Figures> oa = monthly.overview(cohort(id), r);
                Map<String, CohortQueries.Figures> ob = raw.overview(cohort(id), r);
                assertThat(oa.keySet()).as(when + ": overview " + r).isEqualTo(ob.keySet());
                oa.forEach((m, f) -> CohortAnalyticsITCase.assertSame(f, ob.get(m), when + ": overview " + id + " " + m + " " + r));
            }
            for (String metric : List.of("sroi", "hours")) {
                Map<Long, CohortQueries.Figures> ca = monthly.compare("coM", List.of(22L, 21L), metric, r);
                Map<Long, CohortQueries.Figures> cb = raw.compare("coM", List.of(22L, 21L), metric, r);
                assertThat(ca.keySet()).as(when + ": compare " + r).isEqualTo(cb.keySet());
                ca.forEach((id, f) -> CohortAnalyticsITCase.assertSame(f, cb.get(id), when + ": compare " + id + " " + metric + " " + r));
                int limit = metric.equals("sroi") ? 10 : 1; // the distinct members are merged for the ranked first only
                List<CohortQueries.TopRow> ta = monthly.top("coM", metric, r, limit);
                List<CohortQueries.TopRow> tb = raw.top("coM", metric, r, limit);
                assertThat(ta).as(when + ": top " + metric + " " + r).hasSameSizeAs(tb);
                for (int i = 0; i < ta.size(); i++) {
                    assertThat(ta.get(i).cohortId()).as(when + ": top " + metric + " " + r).isEqualTo(tb.get(i).cohortId());
                    assertThat(ta.get(i).users()).as(when + ": top " + metric + " " + r).isEqualTo(tb.get(i).users());
                    assertThat(ta.get(i).count()).as(when + ": top " + metric + " " + r).isEqualTo(tb.get(i).count());
                    assertThat(ta.get(i).avg()).as(when + ": top " + metric + " " + r).isCloseTo(tb.get(i).avg(), within(1e-9));
                }
            }
        }
    }

    private static CohortQueries.CohortRef cohort(long id) {
        return new CohortQueries.CohortRef(id, "coM", "c" + id);
    }

    private static DateRange range(String from, String to) {
        return new DateRange(LocalDate.parse(from), LocalDate.parse(to));
    }
}
