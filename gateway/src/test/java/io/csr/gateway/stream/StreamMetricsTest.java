package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 28, finding 10: our series through the Prometheus client keep their names and labels; histograms read atomically. */
class StreamMetricsTest {
    private static final Pattern COUNT = Pattern.compile("csr_stream_delivery_latency_seconds_count (\\S+)");
    private static final Pattern SUM = Pattern.compile("csr_stream_delivery_latency_seconds_sum (\\S+)");
    private static final Pattern INF = Pattern.compile("csr_stream_delivery_latency_seconds_bucket\\{le=\"\\+Inf\"} (\\S+)");

    @Test
    void namesAndLabelsStayAsTheDashboardKnowsThem() {
        StreamMetrics m = new StreamMetrics();
        m.connectionOpened("acme");
        m.connectionOpened("acme");
        m.connectionClosed("acme");
        m.rejected(429);
        m.latency().observe(40);
        StringBuilder out = new StringBuilder();
        m.renderPrometheus(out, true);
        assertThat(out.toString()).contains("# TYPE csr_stream_connections gauge\ncsr_stream_connections 1",
                "csr_stream_company_connections{company=\"acme\"} 1", "csr_stream_connections_total 2",
                "csr_stream_rejected_total{status=\"429\"} 1", "csr_stream_rejected_total{status=\"503\"} 0",
                "csr_stream_delivery_latency_seconds_bucket{le=\"0.05\"} 1", "csr_stream_delivery_latency_seconds_count 1");
        StringBuilder nodeOnly = new StringBuilder();
        m.renderPrometheus(nodeOnly, false);
        assertThat(nodeOnly.toString()).doesNotContain("acme").contains("csr_stream_connections 1");
    }

    @Test
    void everyScrapeOfTheHistogramIsOneConsistentSnapshot() throws Exception {
        StreamMetrics m = new StreamMetrics();
        AtomicBoolean run = new AtomicBoolean(true);
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            writers.add(Thread.ofPlatform().start(() -> {
                while (run.get()) {
                    m.latency().observe(2); // 2 ms each: sum must be count × 0.002 in every scrape
                }
            }));
        }
        try {
            for (int i = 0; i < 300; i++) {
                StringBuilder out = new StringBuilder();
                m.renderPrometheus(out, false);
                double count = value(COUNT, out);
                assertThat(value(INF, out)).as("+Inf bucket = count").isEqualTo(count);
                assertThat(value(SUM, out)).as("sum of %s observations of 2 ms", count).isCloseTo(count * 0.002, org.assertj.core.data.Offset.offset(1e-6 * Math.max(1, count)));
            }
        } finally {
            run.set(false);
            for (Thread w : writers) {
                w.join();
            }
        }
    }

    private static double value(Pattern p, CharSequence text) {
        Matcher matcher = p.matcher(text);
        assertThat(matcher.find()).as(p.pattern()).isTrue();
        return Double.parseDouble(matcher.group(1));
    }
}
