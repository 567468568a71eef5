package io.csr.gateway.web;

import io.csr.common.config.ConfigKey;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code CORS_ALLOWED_ORIGINS} on a real gateway, header by header: an allowed origin gets the CORS headers on JSON,
 * SSE, error and 404 answers and on preflight; another origin (and a gateway without the key) gets none.
 */
class CorsITCase {
    private static final String ALLOWED = "http://cockpit.example:3000";
    private static final String OTHER = "http://evil.example:3000";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of(ConfigKey.CORS_ALLOWED_ORIGINS.name(), ALLOWED + ", https://other-dashboard.example"));
    }

    private static HttpResponse<InputStream> send(String method, String path, String origin, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fx.base() + path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (origin != null) {
            b.header("Origin", origin);
        }
        headers.forEach(b::header);
        HttpResponse<InputStream> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        return res;
    }

    private static HttpHeaders headersOf(String method, String path, String origin, Map<String, String> headers) throws Exception {
        HttpResponse<InputStream> res = send(method, path, origin, headers);
        res.body().close(); // SSE answers never end: the headers are all we need
        return res.headers();
    }

    private static List<String> corsHeaders(HttpHeaders h) {
        return h.map().keySet().stream().filter(k -> k.toLowerCase().startsWith("access-control-")).toList();
    }

    @Test
    void anAllowedOriginGetsCorsHeadersOnEveryKindOfAnswer() throws Exception {
        String token = fx.tokens.forCompany("corsA");
        Map<String, Map<String, String>> requests = Map.of(
                "/stream/stats", Map.of("Authorization", "Bearer " + token),                 // 200 JSON
                "/stream/updates?access_token=" + token, Map.of(),                          // 200 SSE
                "/stream/stats?x=1", Map.of(),                                              // 401 error answer
                "/stream/updates?companyId=corsB&access_token=" + token, Map.of(),          // 403 decided before the stream
                "/no/such/route", Map.of(),                                                 // 404
                "/health", Map.of());
        for (var r : requests.entrySet()) {
            HttpHeaders h = headersOf("GET", r.getKey(), ALLOWED, r.getValue());
            assertThat(h.firstValue("Access-Control-Allow-Origin")).as(r.getKey()).contains(ALLOWED);
            assertThat(h.firstValue("Access-Control-Expose-Headers")).as(r.getKey()).hasValueSatisfying(v -> assertThat(v).contains("Retry-After"));
            assertThat(h.allValues("Vary")).as(r.getKey()).anySatisfy(v -> assertThat(v).contains("Origin"));

            HttpHeaders other = headersOf("GET", r.getKey(), OTHER, r.getValue());
            assertThat(corsHeaders(other)).as("another origin, " + r.getKey()).isEmpty();
        }
    }

    @Test
    void preflightAllowsTheHeadersAndMethodsTheGatewayUsesForAllowedOriginsOnly() throws Exception {
        Map<String, String> preflight = Map.of("Access-Control-Request-Method", "GET",
                "Access-Control-Request-Headers", "authorization,last-event-id");
        HttpResponse<InputStream> res = send("OPTIONS", "/stream/updates", ALLOWED, preflight);
        res.body().close();
        assertThat(res.statusCode()).isEqualTo(204);
        HttpHeaders h = res.headers();
        assertThat(h.firstValue("Access-Control-Allow-Origin")).contains(ALLOWED);
        assertThat(h.firstValue("Access-Control-Allow-Headers").orElseThrow()).contains("Authorization", "Last-Event-ID", "Content-Type");
        assertThat(h.firstValue("Access-Control-Allow-Methods").orElseThrow()).contains("GET", "POST", "PUT", "DELETE");
        assertThat(h.firstValue("Access-Control-Max-Age")).isPresent();

        HttpResponse<InputStream> refused = send("OPTIONS", "/stream/updates", OTHER, preflight);
        refused.body().close();
        assertThat(refused.statusCode()).isNotEqualTo(204);
        assertThat(corsHeaders(refused.headers())).isEmpty();
    }

    @Test
    void withoutTheKeyNoOriginGetsCorsHeaders() throws Exception {
        try (GatewayFixture plain = new GatewayFixture(Map.of())) {
            HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(plain.base() + "/stream/health"))
                    .header("Origin", ALLOWED).build(), HttpResponse.BodyHandlers.ofInputStream());
            res.body().close();
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(corsHeaders(res.headers())).isEmpty();
        }
    }
}
