package io.csr.gateway.http;

import io.csr.gateway.stream.StreamMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;

/** {@code GET /metrics}: Prometheus text exposition (version 0.0.4) of the streaming counters plus JVM heap and threads. */
public final class MetricsService implements HttpService {
    private final StreamMetrics metrics;

    public MetricsService(StreamMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::metrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        StringBuilder out = new StringBuilder(4096);
        metrics.renderPrometheus(out);
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        out.append("# HELP csr_jvm_heap_used_bytes JVM heap in use.\n# TYPE csr_jvm_heap_used_bytes gauge\ncsr_jvm_heap_used_bytes ")
                .append(heap.getUsed()).append('\n');
        out.append("# HELP csr_jvm_threads Live platform threads.\n# TYPE csr_jvm_threads gauge\ncsr_jvm_threads ")
                .append(ManagementFactory.getThreadMXBean().getThreadCount()).append('\n');
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
