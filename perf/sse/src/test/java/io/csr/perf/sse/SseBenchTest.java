package io.csr.perf.sse;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SseBenchTest {
    @Test
    void sequenceIsReadFromTheVersionFieldOfTheSamePayloadEveryServerCarries() {
        assertThat(SseBench.sequenceOf("{\"companyId\":\"a\",\"count\":3,\"version\":12345,\"final\":false}")).isEqualTo(12345);
        assertThat(SseBench.sequenceOf("{\"companyId\":\"a\"}")).isEqualTo(-1);
        assertThat(SseBench.sequenceOf("{\"version\":null}")).isEqualTo(-1);
    }

    @Test
    void anEmptyHistogramHasNoPercentilesRatherThanZero() {
        org.HdrHistogram.Histogram h = new org.HdrHistogram.Histogram(60_000_000L, 3);
        assertThat(SseBench.percentileMs(h, 99)).isNull();
        h.recordValue(1_500);
        assertThat(SseBench.percentileMs(h, 99)).isEqualTo(1.5, org.assertj.core.data.Offset.offset(0.01));
    }

    @Test
    void aServerProcessThatCannotBeReadFailsTheRunInsteadOfCountingZero() {
        long self = ProcessHandle.current().pid();
        assertThat(ProcessStats.of(java.util.List.of(self)).cpuSeconds()).isPositive();
        assertThatThrownBy(() -> ProcessStats.of(java.util.List.of(self, Long.MAX_VALUE)))
                .hasMessageContaining("/proc/" + Long.MAX_VALUE).hasMessageContaining("instead of counting it as 0");
    }

    @Test
    void eachServingProcessHasItsOwnCpuPerDeliveryBesideTheSum() {
        List<Map<String, Object>> rows = SseBench.cpuByProcess(List.of("100 java", "200 redis-server"),
                Map.of(100L, new ProcessStats(0, 10.0), 200L, new ProcessStats(0, 5.0)),
                Map.of(100L, new ProcessStats(0, 12.5), 200L, new ProcessStats(0, 5.5)), 50_000);
        assertThat(rows).extracting(r -> r.get("process")).containsExactly("100 java", "200 redis-server");
        assertThat(rows).extracting(r -> r.get("cpuSecondsMeasured")).containsExactly(2.5, 0.5);
        assertThat(rows).extracting(r -> r.get("cpuSecondsPer100kDeliveries")).containsExactly(5.0, 1.0);
    }

    @Test
    void oursIsCountedWithRedisBesideTheGatewayAndEveryTargetNeedsItsPids() {
        assertThat(SseBench.servingPids(Target.OURS, List.of(100L), () -> 200L)).as("the gateway and Redis").containsExactly(100L, 200L);
        assertThat(SseBench.servingPids(Target.OURS, List.of(100L, 200L), () -> 200L)).containsExactly(100L, 200L);
        assertThat(SseBench.servingPids(Target.NCHAN, List.of(300L, 301L), () -> 200L)).containsExactly(300L, 301L);
        assertThatThrownBy(() -> SseBench.servingPids(Target.NCHAN, List.of(), () -> 200L)).hasMessageContaining("--server-pids is required");
        assertThatThrownBy(() -> SseBench.requireServingProcess(Target.OURS, List.of("100 java")))
                .hasMessageContaining("no redis-server process");
        assertThatThrownBy(() -> SseBench.requireServingProcess(Target.NCHAN, List.of("300 java"))).hasMessageContaining("no nginx process");
        assertThat(SseBench.requireServingProcess(Target.OURS, List.of("100 java", "200 redis-server"))).hasSize(2);
    }

    @Test
    void aRunIsCompleteOnlyWhenNothingAskedForWasLost() {
        assertThat(SseBench.complete(SseBench.lost(100, 100, 5_000, 5_000, 0, 0, 0), 5_000)).isTrue();
        Map<String, Long> missing = SseBench.lost(100, 100, 5_000, 4_999, 0, 0, 0);
        assertThat(missing).containsEntry("deliveriesMissing", 1L);
        assertThat(SseBench.complete(missing, 5_000)).isFalse();
        assertThat(SseBench.complete(SseBench.lost(100, 98, 4_900, 4_900, 0, 0, 0), 4_900)).as("2 not streaming").isFalse();
        assertThat(SseBench.complete(SseBench.lost(100, 100, 5_000, 5_000, 1, 0, 0), 5_000)).as("a publish error").isFalse();
        assertThat(SseBench.complete(SseBench.lost(100, 100, 5_000, 5_000, 0, 1, 0), 5_000)).as("a server close").isFalse();
        assertThat(SseBench.complete(SseBench.lost(100, 100, 5_000, 5_000, 0, 0, 1), 5_000)).as("a reset").isFalse();
        Map<String, Long> empty = SseBench.lost(100, 100, 0, 0, 0, 0, 0);
        assertThat(SseBench.complete(empty, 0)).as("nothing published, nothing measured").isFalse();
        assertThat(empty).as("and the result says why").containsEntry("measuredPhaseWithoutEvents", 1L);
        assertThat(SseBench.lost(100, 100, 5_000, 5_000, 0, 0, 0)).containsEntry("measuredPhaseWithoutEvents", 0L);
    }

    @Test
    void eachTargetSubscribesOnItsOwnPath() {
        assertThat(Target.OURS.subscribePath("/stream/updates", "acme")).isEqualTo("/stream/updates?companyId=acme");
        assertThat(Target.NCHAN.subscribePath("/sub/", "acme")).isEqualTo("/sub/acme");
        assertThat(Target.PUSHPIN.subscribePath("/sub", "acme")).isEqualTo("/sub/acme");
        assertThatThrownBy(() -> Target.parse("centrifugo")).hasMessageContaining("use ours, nchan or pushpin");
    }
}
