package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/grafana-dashboard.json only queries metrics the gateway exports. */
class GrafanaDashboardTest {
    @Test
    void everyQueriedMetricIsExported() throws Exception {
        Path dashboard = Path.of("..", "docs", "grafana-dashboard.json");
        String json = Files.readString(dashboard);
        StreamMetrics metrics = new StreamMetrics();
        metrics.connectionOpened("acme");
        StringBuilder out = new StringBuilder();
        metrics.renderPrometheus(out);
        String exported = out + "\ncsr_jvm_heap_used_bytes 1\ncsr_jvm_threads 1\n"; // added by MetricsService
        Matcher m = Pattern.compile("csr_[a-z_]+").matcher(json);
        int n = 0;
        while (m.find()) {
            n++;
            assertThat(exported).as("dashboard queries %s", m.group()).contains("\n" + m.group());
        }
        assertThat(n).isGreaterThan(10);
    }
}
