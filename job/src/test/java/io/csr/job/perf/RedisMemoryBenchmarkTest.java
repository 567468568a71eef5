package io.csr.job.perf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark's verdict: flat at the cap, or not, from its samples. */
class RedisMemoryBenchmarkTest {
    private static final long CAP = 1_000;

    @Test
    void streamsHeldAtTheCapAreFlat() {
        RedisMemoryBenchmark.Verdict v = RedisMemoryBenchmark.Verdict.of(samples(0, 1_080), 11, CAP, true);
        assertThat(v.flat()).as(v.text()).isTrue();
        assertThat(v.text()).startsWith("FLAT");
    }

    @Test
    void streamsThatKeepGrowingAreNotFlat() {
        RedisMemoryBenchmark.Verdict v = RedisMemoryBenchmark.Verdict.of(samples(400, 1_080), 11, CAP, true);
        assertThat(v.flat()).as(v.text()).isFalse();
        assertThat(v.text()).startsWith("NOT FLAT").contains("%");
    }

    @Test
    void aStreamLongerThanTheCapAndOneNodeIsNotFlat() {
        RedisMemoryBenchmark.Verdict v = RedisMemoryBenchmark.Verdict.of(samples(0, CAP + 101), 11, CAP, true);
        assertThat(v.flat()).as(v.text()).isFalse();
    }

    @Test
    void aGrowingUsedMemoryFailsOnlyWhereTheRedisIsTheBenchmarksOwn() {
        ArrayNode samples = samples(0, 1_080);
        samples.forEach(s -> ((com.fasterxml.jackson.databind.node.ObjectNode) s).put("usedMemory", 9_000_000 + 2_000L * s.get("seconds").asLong()));
        assertThat(RedisMemoryBenchmark.Verdict.of(samples, 11, CAP, true).flat()).as("own Redis: its used_memory grew 12 %").isFalse();
        assertThat(RedisMemoryBenchmark.Verdict.of(samples, 11, CAP, false).flat()).as("shared Redis: reported only").isTrue();
    }

    @Test
    void aRunShorterThanTheFillIsTooShort() {
        RedisMemoryBenchmark.Verdict v = RedisMemoryBenchmark.Verdict.of(samples(0, 1_050), 10_000, CAP, true);
        assertThat(v.flat()).isFalse();
        assertThat(v.text()).contains("too short").contains("--minutes");
    }

    @Test
    void theFillTimeCountsOneNodeAboveTheCap() {
        assertThat(RedisMemoryBenchmark.fillSeconds(20, 1_000, 2_000)).isEqualTo(11.0);
    }

    /** Ten minutes sampled every 10 s; the streams' bytes grow by {@code growthPerMinute} bytes per minute. */
    private static ArrayNode samples(long growthPerMinute, long maxXlen) {
        ArrayNode samples = Json.mapper().createArrayNode();
        for (int s = 0; s <= 600; s += 10) {
            samples.addObject().put("seconds", s).put("maxXlen", maxXlen).put("entries", 20 * 1_050)
                    .put("streamBytes", 6_500_000 + growthPerMinute * 1_000 * s / 60).put("usedMemory", 9_000_000);
        }
        return samples;
    }
}
