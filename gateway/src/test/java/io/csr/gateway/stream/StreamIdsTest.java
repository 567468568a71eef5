package io.csr.gateway.stream;

import io.csr.gateway.http.PrometheusText;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import static org.assertj.core.api.Assertions.assertThat;

class StreamIdsTest {
    @Test
    void parsesRedisIdsAndRejectsEverythingElse() {
        assertThat(StreamIds.parse("1732700000000-3")).contains(new StreamEntryID(1732700000000L, 3));
        assertThat(StreamIds.parse("1732700000000")).contains(new StreamEntryID(1732700000000L, 0));
        assertThat(StreamIds.parse(" 5-1 ")).contains(new StreamEntryID(5, 1));
        assertThat(StreamIds.parse("abc")).isEmpty();
        assertThat(StreamIds.parse("1-2-3")).isEmpty();
        assertThat(StreamIds.parse("-1")).isEmpty();
        assertThat(StreamIds.parse("99999999999999999999-0")).isEmpty();
        assertThat(StreamIds.parse("")).isEmpty();
        assertThat(StreamIds.parse(null)).isEmpty();
    }

    /** The history check reads from just before an id: nothing may lie between, whatever the sequence part. */
    @Test
    void idJustBeforeLeavesNoIdBetween() {
        assertThat(StreamIds.before(new StreamEntryID(1_764_238_530_123L, 5))).isEqualTo("1764238530123-4");
        assertThat(StreamIds.before(new StreamEntryID(1_764_238_530_123L, 0))).isEqualTo("1764238530122-18446744073709551615");
        assertThat(StreamIds.before(new StreamEntryID(7, -1L))).isEqualTo("7-18446744073709551614");
    }

    @Test
    void framesAreOneLine() {
        assertThat(SseFrames.oneLine("{\"a\":1}")).isEqualTo("{\"a\":1}");
        assertThat(SseFrames.oneLine("{\n \"a\": 1\n}")).isEqualTo("{\"a\":1}");
        assertThat(SseFrames.oneLine("not json\nat all")).isNull();
        assertThat(new String(SseFrames.reset("expired", "old"))).startsWith("event: reset\ndata: {").endsWith("}\n\n");
    }

    @Test
    void histogramBucketsAreCumulative() {
        LatencyHistogram h = new LatencyHistogram("x", "help");
        h.observe(3);
        h.observe(40);
        h.observe(40_000);
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(h.metric());
        assertThat(PrometheusText.render(registry, name -> true)).contains("x_bucket{le=\"0.005\"} 1\n", "x_bucket{le=\"0.05\"} 2\n", "x_bucket{le=\"+Inf\"} 3\n", "x_count 3\n");
        assertThat(h.quantileUpperBoundMs(0.5)).isEqualTo(50);
    }
}
