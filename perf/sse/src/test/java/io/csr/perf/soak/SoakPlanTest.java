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
    void aSeedGivesTheSamePlanAndTenFaultsCoverEveryKind() {
        List<Fault.Planned> a = Fault.plan(10, 3, 26001);
        assertThat(Fault.plan(10, 3, 26001)).isEqualTo(a);
        assertThat(Fault.plan(10, 3, 26002)).isNotEqualTo(a);
        assertThat(new HashSet<>(a.stream().map(Fault.Planned::fault).toList())).containsExactlyInAnyOrder(Fault.values());
        // inside the traffic, after a warm-up and before the last 20 s, in order
        assertThat(a).allSatisfy(p -> assertThat(p.atSeconds()).isBetween(27.0, 160.0));
        assertThat(a.stream().map(Fault.Planned::atSeconds).toList()).isSorted();
        assertThat(a).filteredOn(p -> p.fault() == Fault.CLICKHOUSE_STALL || p.fault() == Fault.REDIS_STALL)
                .allSatisfy(p -> assertThat(p.seconds()).isBetween(3.0, 15.0));
        assertThat(Fault.plan(120, 60, 1)).hasSize(120);
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
