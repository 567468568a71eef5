package io.csr.perf.soak;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The parts of csr soak that need nothing running: the seeded fault plan, recovery statistics, id order. */
class SoakPlanTest {
    @Test
    void aSeedGivesTheSamePlanAndTwelveFaultsCoverEveryKind() {
        List<Fault.Planned> a = Fault.plan(12, 3, 26001);
        assertThat(Fault.plan(12, 3, 26001)).isEqualTo(a);
        assertThat(Fault.plan(12, 3, 26002)).isNotEqualTo(a);
        assertThat(new HashSet<>(a.stream().map(Fault.Planned::fault).toList())).containsExactlyInAnyOrderElementsOf(Fault.SINGLE);
        // inside the traffic, after a warm-up and before the last 20 s, in order
        assertThat(a).allSatisfy(p -> assertThat(p.atSeconds()).isBetween(27.0, 160.0));
        assertThat(a.stream().map(Fault.Planned::atSeconds).toList()).isSorted();
        assertThat(a).filteredOn(p -> p.fault() == Fault.CLICKHOUSE_STALL || p.fault() == Fault.REDIS_STALL)
                .allSatisfy(p -> assertThat(p.seconds()).isBetween(3.0, 15.0));
        assertThat(a).filteredOn(p -> p.fault() == Fault.CHECKPOINT_DISK_FULL).allSatisfy(p -> assertThat(p.seconds()).isBetween(10.0, 30.0));
        assertThat(Fault.plan(120, 60, 1)).hasSize(120);
    }

    @Test
    void theHaPlanDealsEveryHaKindInAnyFourFaultsAndNoSingleOnlyKind() {
        for (long seed = 1; seed <= 20; seed++) {
            List<Fault.Planned> four = Fault.plan(4, 3, seed, true);
            assertThat(four.stream().map(Fault.Planned::fault).toList()).containsExactlyInAnyOrderElementsOf(Fault.HA_ONLY);
            assertThat(Fault.plan(16, 10, seed, true)).allSatisfy(p -> assertThat(Fault.HA).contains(p.fault()));
            assertThat(new HashSet<>(Fault.plan(8, 10, seed, true).stream().map(Fault.Planned::fault).toList()))
                    .containsExactlyInAnyOrderElementsOf(Fault.HA);
        }
        assertThat(Fault.plan(12, 3, 26001, false)).isEqualTo(Fault.plan(12, 3, 26001));
    }

    @Test
    void cohortFiguresAreRecomputedFromTheLedgerOverTheMembersAndTheRange() {
        long day = java.time.LocalDate.parse("2026-12-07").toEpochDay() * 86_400_000L;
        List<Traffic.Entry> ledger = List.of(
                entry("e1", "u1", day + 1_000, 10, "live"), entry("e2", "u1", day + 2_000, 20, "live"),
                entry("e3", "u2", day + 3_000, 30, "live"), entry("e1", "u1", day + 1_000, 10, "duplicate"),
                entry("e4", "u9", day + 4_000, 1_000, "live"),                  // not a member
                entry("e5", "u2", day - 5L * 86_400_000L, 1_000, "very_late"),  // before the range
                new Traffic.Entry(new io.csr.common.verify.ExactlyOnceCheck.Published("c", "e6", "vis", day, 5, true, 9), 0, "live", "metrics.vis", "u1"));
        Map<String, Object> f = CohortCallers.recompute(ledger, "c", java.util.Set.of("u1", "u2"), "sroi",
                java.time.LocalDate.parse("2026-12-04"), java.time.LocalDate.parse("2026-12-07"));
        assertThat(f).containsEntry("users", 2L).containsEntry("count", 3L).containsEntry("min", 10.0).containsEntry("max", 30.0)
                .containsEntry("avg", 20.0).containsEntry("p50", 20.0).containsEntry("p95", 30.0);
        // quantilesExact's rank: floor(q * n), the last element for q * n >= n
        assertThat(CohortCallers.exactQuantile(new double[]{1, 2, 3, 4}, 0.5)).isEqualTo(3.0);
        assertThat(CohortCallers.exactQuantile(new double[]{1, 2, 3, 4}, 0.75)).isEqualTo(4.0);
        var json = io.csr.common.json.Json.mapper();
        assertThat(CohortCallers.difference(f, json.valueToTree(f))).isNull();
        Map<String, Object> off = new java.util.LinkedHashMap<>(f);
        off.put("p50", 20.3); // 1.5 % off
        assertThat(CohortCallers.difference(f, json.valueToTree(off))).startsWith("p50 20.3, the ledger 20.0");
        off.put("p50", 20.1); // 0.5 % off: a binned quantile may be
        off.put("count", 4L);
        assertThat(CohortCallers.difference(f, json.valueToTree(off))).isEqualTo("count 4, the ledger 3");
    }

    private static Traffic.Entry entry(String id, String user, long at, double value, String kind) {
        return new Traffic.Entry(new io.csr.common.verify.ExactlyOnceCheck.Published("c", id, "sroi", at, value, true, 1), at, kind,
                "metrics.sroi", user);
    }

    @Test
    void recoveryStatisticsCountWhatDidNotRecover() {
        Map<String, Object> s = SoakReport.stats(Arrays.asList(300L, null, 100L, 200L));
        assertThat(s).containsEntry("p50", 200L).containsEntry("max", 300L).containsEntry("notRecovered", 1);
        assertThat(SoakReport.stats(Arrays.asList((Long) null))).containsEntry("p50", null).containsEntry("max", null);
    }

    @Test
    void streamIdsCompareAsNumbers() {
        assertThat(SseClient.compareIds("1796587709322-0", "1796587733211-0")).isNegative();
        assertThat(SseClient.compareIds("1796587709322-10", "1796587709322-9")).isPositive();
        assertThat(SseClient.compareIds("1796587709322-1", "1796587709322-1")).isZero();
        assertThat(Soak.idMillis("1796587709322-4")).isEqualTo(1796587709322L);
    }
}
