package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.userdays.UserDailyMetrics;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortParams.DateRange;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A range whose months are each one merged part is read without FINAL ({@link ReadParts}) with the answers of a read
 * with FINAL everywhere: before the months are merged (an original and a replayed copy in two parts: FINAL needed),
 * after they are merged into one part each (read without FINAL), when a replayed copy arrives between the parts' read
 * and the query (the check after the query reads the request again with FINAL), and with such a copy in a part of
 * its own in May (ranges with May read with FINAL, June's without). Every endpoint, from the observations and from the per-user days. Company {@code coF} of its own: cohort 31 =
 * u1, u2, u3; cohort 32 = u2, u4; observations of sroi and hours from 2031-05-02 to 2031-06-28, and of u9 (no cohort).
 */
class CohortReadWithoutFinalITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;
    static List<Map<String, Object>> observations = new ArrayList<>();
    static final long MEMBER_SROI = memberSroi();

    @BeforeAll
    static void seed() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse();
        // background merges would merge the two parts of a month at a moment of their choosing; the test merges itself
        ch.execute("SYSTEM STOP MERGES metrics_timeseries");
        ch.execute("SYSTEM STOP MERGES user_daily_metrics");
        ch.insertRows("cohorts", List.of(CohortAnalyticsITCase.cohort(31, "coF", "f-alpha", 0, 1),
                CohortAnalyticsITCase.cohort(32, "coF", "f-beta", 0, 1)));
        ch.insertRows("user_cohorts", List.of(CohortAnalyticsITCase.member(31, "coF", "u1", 1, 1),
                CohortAnalyticsITCase.member(31, "coF", "u2", 1, 1), CohortAnalyticsITCase.member(31, "coF", "u3", 1, 1),
                CohortAnalyticsITCase.member(32, "coF", "u2", 1, 1), CohortAnalyticsITCase.member(32, "coF", "u4", 1, 1)));
        ch.insertRows("metrics_timeseries", observations);
        ch.insertRows("metrics_timeseries", observations.subList(0, 5)); // a replayed batch: the same rows again, a part of its own
        fillUserDays();
        fillUserDays(); // a replayed recomputation: the same daily rows again
    }

    private static long memberSroi() {
        String[] users = {"u1", "u2", "u3", "u4", "u9"};
        int n = 0;
        long memberSroi = 0;
        for (LocalDate d = LocalDate.parse("2031-05-02"); !d.isAfter(LocalDate.parse("2031-06-28")); d = d.plusDays(2)) {
            for (int u = 0; u < users.length; u++) {
                if ((d.getDayOfMonth() + u) % 3 == 0) {
                    continue;
                }
                double value = ((d.getDayOfYear() * 31 + u * 7) % 89) / 3.0 - 4;
                observations.add(CohortAnalyticsITCase.obs("coF", "sroi", users[u], d + " 09:1" + u + ":00", value, "f" + n++));
                memberSroi += u <= 2 ? 1 : 0;
                if (u % 2 == 1) {
                    observations.add(CohortAnalyticsITCase.obs("coF", "hours", users[u], d + " 20:00:00", value + 3, "f" + n++));
                }
            }
        }
        return memberSroi;
    }

    private static void fillUserDays() {
        ch.execute("INSERT INTO user_daily_metrics (" + UserDailyMetrics.COLUMNS + ") "
                + UserDailyMetrics.recompute("company_id = 'coF' AND ts >= toDateTime('2031-05-01 00:00:00') AND ts < toDateTime('2031-07-01 00:00:00')"));
    }

    static final List<DateRange> RANGES = List.of(new DateRange(LocalDate.parse("2031-05-01"), LocalDate.parse("2031-06-30")),
            new DateRange(LocalDate.parse("2031-05-10"), LocalDate.parse("2031-05-20")),
            new DateRange(LocalDate.parse("2031-06-03"), LocalDate.parse("2031-06-28")));

    @Test
    void mergedMonthsAreReadWithoutFinalWithTheAnswersOfFinal() {
        CohortQueries reference = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, null, false);
        CohortQueries observationsRead = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.OBSERVATIONS, null, true);
        CohortQueries daysRead = new CohortQueries(ch, new MembershipCache(ch, 1_000), CohortQueries.Source.USER_DAYS, null, true);
        CohortQueries joined = new CohortQueries(ch, new MembershipCache(ch, 0), CohortQueries.Source.OBSERVATIONS, null, true);
        List<CohortQueries> read = List.of(observationsRead, daysRead, joined);

        assertAllSame("two parts a month", reference, read);
        assertThat(read.stream().mapToLong(CohortQueries::answeredWithoutFinal).sum()).as("a month of two parts is read with FINAL").isZero();

        merge();
        assertAllSame("one merged part a month", reference, read);
        assertThat(CohortQueries.cheaper(100, true, 100, false, 1.0)).as("a read without FINAL costs less").isEqualTo(CohortQueries.Source.OBSERVATIONS);
        assertThat(CohortQueries.cheaper(100, false, 100, true, 1.0)).isEqualTo(CohortQueries.Source.USER_DAYS);
        assertThat(CohortQueries.cheaper(100, true, 100, true, 1.0)).isEqualTo(CohortQueries.Source.USER_DAYS);
        long without = observationsRead.answeredWithoutFinal();
        assertThat(without).as("every answer read without FINAL").isEqualTo(RANGES.size() * 7L);
        assertThat(daysRead.answeredWithoutFinal()).isEqualTo(without);

        // a replayed copy arrives after the parts were read: the read without FINAL would count it twice
        CohortQueries.CohortRef one = reference.find(31, List.of("coF")).orElseThrow();
        DateRange all = RANGES.get(0);
        for (CohortQueries q : List.of(observationsRead, daysRead)) {
            q.afterPartsRead = () -> {
                ch.insertRows("metrics_timeseries", observations.subList(0, 1));
                fillUserDays();
                q.afterPartsRead = () -> { };
            };
            assertThat(q.metrics(one, "sroi", all).count()).as("read again with FINAL after the parts moved").isEqualTo(MEMBER_SROI);
            assertThat(q.answeredWithoutFinal()).isEqualTo(without);
            merge();
        }

        ch.insertRows("metrics_timeseries", observations.subList(0, 3)); // May's first rows again
        fillUserDays();
        assertAllSame("May a merged part and a replayed copy", reference, read);
        assertThat(observationsRead.answeredWithoutFinal()).as("the two ranges with May read with FINAL, June's without")
                .isEqualTo(without + 7);
        assertThat(daysRead.answeredWithoutFinal()).as("the recomputation wrote a part in both months of the daily rows")
                .isEqualTo(without);
        assertThat(reference.metrics(one, "sroi", all).count()).isEqualTo(MEMBER_SROI);
    }

    private static void merge() {
        ch.execute("SYSTEM START MERGES metrics_timeseries");
        ch.execute("SYSTEM START MERGES user_daily_metrics");
        for (String table : List.of("metrics_timeseries", "user_daily_metrics")) {
            for (int month : List.of(203105, 203106)) {
                ch.execute("OPTIMIZE TABLE " + table + " PARTITION " + month + " FINAL");
            }
        }
        ch.execute("SYSTEM STOP MERGES metrics_timeseries");
        ch.execute("SYSTEM STOP MERGES user_daily_metrics");
        assertThat(ch.queryLong("SELECT count() AS c FROM system.parts WHERE database = '" + ch.database() + "' AND active"
                + " AND table IN ('metrics_timeseries', 'user_daily_metrics') AND partition_id IN ('203105', '203106') AND level > 0"))
                .as("one merged part per month and table").isEqualTo(4);
    }

    /** Seven answers per range and instance: metrics, overview, trends by day, week and month, compare, top. */
    private static void assertAllSame(String what, CohortQueries reference, List<CohortQueries> read) {
        CohortQueries.CohortRef one = reference.find(31, List.of("coF")).orElseThrow();
        for (DateRange r : RANGES) {
            for (CohortQueries q : read) {
                CohortAnswers.assertSevenSame(q, reference, one, "coF", r, what + " " + r);
            }
        }
        assertThat(reference.metrics(one, "sroi", RANGES.get(0)).count()).as("each copy counted once").isEqualTo(MEMBER_SROI);
    }
}
