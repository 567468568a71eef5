package io.csr.gateway.observe;

import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.csr.gateway.stream.StreamMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * {@code GET /metrics}: Prometheus text exposition (version 0.0.4) of the streaming counters plus JVM heap and threads.
 * Series labelled by company only for a token with role {@code operator}; node-wide series for everyone.
 */
public final class MetricsService implements HttpService {
    private final StreamMetrics metrics;
    private final Predicate<ServerRequest> seesEveryCompany;

    /**
     * {@code seesEveryCompany}: whether the caller may see series that name companies (an operator's token); it throws
     * an {@link ApiError} for a token that is sent but not valid.
     */
    public MetricsService(StreamMetrics metrics, Predicate<ServerRequest> seesEveryCompany) {
        this.metrics = metrics;
        this.seesEveryCompany = seesEveryCompany;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::metrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        boolean perCompany;
        try {
            // per-company series name companies: only an operator's token sees them (Prometheus sends it as
            // 'authorization: credentials'); without one, node-wide series only
            perCompany = seesEveryCompany.test(req);
        } catch (ApiError e) {
            e.send(res);
            return;
        }
        StringBuilder out = new StringBuilder(4096);
        metrics.renderPrometheus(out, perCompany);
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        out.append("# HELP csr_jvm_heap_used_bytes JVM heap in use.\n# TYPE csr_jvm_heap_used_bytes gauge\ncsr_jvm_heap_used_bytes ")
                .append(heap.getUsed()).append('\n');
        out.append("# HELP csr_jvm_threads Live platform threads.\n# TYPE csr_jvm_threads gauge\ncsr_jvm_threads ")
                .append(ManagementFactory.getThreadMXBean().getThreadCount()).append('\n');
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
