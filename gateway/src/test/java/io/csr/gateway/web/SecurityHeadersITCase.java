package io.csr.gateway.web;

import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Over real HTTP: the browser hardening headers on every kind of answer (pages, scripts, JSON, errors, a stream served
 * on its connection), the pages without inline script, and tokens in URLs taken by {@code GET /stream/updates} only.
 */
class SecurityHeadersITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of());
    }

    @Test
    void everyAnswerCarriesTheHeaders() throws Exception {
        for (String path : List.of("/", "/index.html", "/cohorts.html", "/index.js", "/csr-stream.js", "/health", "/stream/snapshot",
                "/no-such-page", "/auth/me")) {
            HttpResponse<String> res = fx.get(path, null);
            assertThat(res.headers().firstValue("Content-Security-Policy")).as(path).contains(SecurityHeaders.CONTENT_SECURITY_POLICY);
            assertThat(res.headers().firstValue("X-Frame-Options")).as(path).contains("DENY");
            assertThat(res.headers().firstValue("X-Content-Type-Options")).as(path).contains("nosniff");
            assertThat(res.headers().firstValue("Referrer-Policy")).as(path).contains("no-referrer");
        }
        assertThat(SecurityHeaders.CONTENT_SECURITY_POLICY).contains("script-src 'self';", "frame-ancestors 'none'").doesNotContain("unsafe");
        for (String page : List.of("/", "/cohorts.html")) {
            String html = fx.get(page, null).body();
            assertThat(html).as(page + ": scripts come from files (the CSP refuses inline script)").doesNotContain("<script>")
                    .doesNotContain("<style").doesNotContain(" style=").doesNotContain("onclick");
        }
        // a stream served directly on its connection writes its own head: the same headers
        HttpResponse<java.io.InputStream> stream = HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/stream/updates"))
                .header("Authorization", "Bearer " + fx.tokens.forCompany("hdr")).build(), HttpResponse.BodyHandlers.ofInputStream());
        try {
            assertThat(stream.statusCode()).isEqualTo(200);
            assertThat(stream.headers().firstValue("Content-Security-Policy")).contains(SecurityHeaders.CONTENT_SECURITY_POLICY);
            assertThat(stream.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
        } finally {
            stream.body().close();
        }
    }

    @Test
    void whoAmIAnswersWhatTheVerifiedTokenGrants() throws Exception {
        HttpResponse<String> me = fx.get("/auth/me", fx.tokens.admin(List.of("acme", "globex")));
        assertThat(me.statusCode()).isEqualTo(200);
        assertThat(me.body()).contains("\"companies\":[\"acme\",\"globex\"]", "\"roles\":[\"admin\"]", "\"subject\":\"admin\"");
        assertThat(fx.get("/auth/me", "forged.token.here").statusCode()).isEqualTo(401);
    }

    @Test
    void aTokenInTheUrlIsTakenOnlyForReadingAStream() throws Exception {
        String token = fx.tokens.admin(List.of("qtok"));
        HttpResponse<java.io.InputStream> stream = HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/stream/updates?access_token=" + token))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        try {
            assertThat(stream.statusCode()).as("EventSource clients keep their query token for reading streams").isEqualTo(200);
        } finally {
            stream.body().close();
        }
        for (String path : List.of("/stream/snapshot", "/stream/stats", "/cohorts", "/participants", "/analytics/company", "/auth/me",
                "/metrics")) {
            HttpResponse<String> res = fx.get(path + "?access_token=" + token, null);
            assertThat(res.statusCode()).as(path).isEqualTo(401);
            assertThat(res.body()).as(path).contains("token_in_url");
            // refused even next to a valid header: a URL that carries a token must not work anywhere else
            assertThat(fx.get(path + "?access_token=" + token, token).statusCode()).as(path + " with a header too").isEqualTo(401);
        }
        for (String[] write : List.of(new String[] {"POST", "/cohorts", "{\"name\":\"via-url\"}"},
                new String[] {"PUT", "/participants/u1", "{\"programme\":\"p\",\"enrolledOn\":\"2026-01-05\"}"},
                new String[] {"POST", "/cohort/compare", "{\"cohortIds\":[1,2],\"metric\":\"sroi\"}"})) {
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + write[1] + "?access_token=" + token))
                    .header("Content-Type", "application/json").method(write[0], HttpRequest.BodyPublishers.ofString(write[2])).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).as(write[0] + " " + write[1]).isEqualTo(401);
            assertThat(res.body()).contains("token_in_url");
        }
    }
}
