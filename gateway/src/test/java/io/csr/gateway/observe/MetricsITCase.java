package io.csr.gateway.observe;

import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 28, finding 10: /metrics carries the JVM's standard series beside ours, each family declared once. */
class MetricsITCase {
    @Test
    void metricsHoldTheJvmsStandardSeriesAndOursUnderTheirNames() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0"))) {
            HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fx.base() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
            String body = res.body();
            assertThat(body).contains("jvm_gc_collection_seconds_count{gc=", "jvm_memory_pool_used_bytes{pool=", "jvm_memory_used_bytes{area=\"heap\"}",
                    "process_cpu_seconds_total ", "process_open_fds ", "jvm_threads_current ", "jvm_threads_state{state=",
                    "csr_stream_connections ", "csr_stream_connections_total ", "csr_stream_delivery_latency_seconds_bucket{le=\"+Inf\"}",
                    "csr_jvm_heap_used_bytes ", "csr_jvm_threads ");
            Set<String> families = new HashSet<>();
            body.lines().filter(l -> l.startsWith("# TYPE ")).forEach(l -> assertThat(families.add(l.split(" ")[2])).as(l).isTrue());
        }
    }
}
