package io.csr.gateway.observe;

import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.PrometheusText;
import io.csr.gateway.stream.StreamMetrics;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * {@code GET /metrics}: Prometheus text exposition (version 0.0.4, written by the Prometheus Java client) of the
 * streaming series and the JVM's standard ones.
 * Series labelled by company only for a token with role {@code operator}; node-wide series for everyone.
 *
 * @param seesEveryCompany whether the caller may see series that name companies (an operator's token); it throws an
 *                         {@link ApiError} for a token that is sent but not valid
 */
public record MetricsService(StreamMetrics metrics, Predicate<ServerRequest> seesEveryCompany) implements HttpService {
    private static final PrometheusRegistry JVM = jvmRegistry(); // one per process: the JVM is shared

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::metrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        // per-company series name companies: only an operator's token sees them (Prometheus sends it as
        // 'authorization: credentials'); without one, node-wide series only
        boolean perCompany = seesEveryCompany.test(req);
        StringBuilder out = new StringBuilder(16_384);
        metrics.renderPrometheus(out, perCompany);
        out.append(PrometheusText.render(JVM, name -> true));
        res.header(HeaderNames.CONTENT_TYPE, PrometheusText.CONTENT_TYPE);
        res.send(out.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The JVM's standard series of the Prometheus Java client (GC, memory pools, buffer pools, CPU, file descriptors,
     * threads, classes, …) and our two older JVM series, which the dashboard queries.
     */
    private static PrometheusRegistry jvmRegistry() {
        PrometheusRegistry r = new PrometheusRegistry();
        JvmMetrics.builder().register(r);
        GaugeWithCallback.builder().name("csr_jvm_heap_used_bytes").help("JVM heap in use.")
                .callback(cb -> cb.call(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed())).register(r);
        GaugeWithCallback.builder().name("csr_jvm_threads").help("Live platform threads.")
                .callback(cb -> cb.call(ManagementFactory.getThreadMXBean().getThreadCount())).register(r);
        return r;
    }
}
