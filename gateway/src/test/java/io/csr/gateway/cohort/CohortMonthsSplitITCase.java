package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.GatewayFixture;
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

/**
 * The per-cohort months of a large company are computed in statements of bounded size (cohort batches per month, the
 * year's masks staged by slices of a month and merged by ranges of the user hash); a pass split that way writes the rows an
 * unsplit pass writes, and both are the figures of the observations ({@code FINAL}) of the current members. Company
 * {@code coS} in a namespace of its own: cohorts 31 = u1, u2, u3; 32 = u2, u3, u4, u5; 33 = u1, u5; u9 in none.
 * Observations of sroi and hours in March and April 2026, a replayed copy of some (FINAL drops it) and a day of u1
 * whose values sum to exactly 0.
 */
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
