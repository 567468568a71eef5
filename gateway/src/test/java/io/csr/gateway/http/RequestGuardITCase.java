package io.csr.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.helidon.http.BadRequestException;
import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 28, finding 3: whatever a handler throws, the answer is our JSON error with the request id, and the exception's
 * text (here standing for SQL or a driver message) stays in the log. Needs no store: a bare server with the filter.
 */
class RequestGuardITCase {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static WebServer server;

    @BeforeAll
    static void start() {
        server = WebServer.builder().port(0).routing(r -> r.addFilter(new RequestGuard()).error(Exception.class, RequestGuard::failed)
                .get("/boom", (req, res) -> {
                    throw new IllegalStateException("SELECT secret FROM somewhere: driver text");
                })
                .get("/helidon-refusal", (req, res) -> {
                    throw new BadRequestException("a header Helidon could not parse");
                })
                .get("/api-error", (req, res) -> {
                    throw ApiError.badRequest("bad_thing", "thing: not acceptable");
                })
                .any(RequestGuard::notFound)).build().start();
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode assertShape(HttpResponse<String> res, int status, String error) throws Exception {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
        JsonNode j = Json.mapper().readTree(res.body());
        assertThat(j.path("error").asText()).isEqualTo(error);
        assertThat(j.path("requestId").asText()).isEqualTo(res.headers().firstValue("X-Request-Id").orElseThrow());
        return j;
    }

    @Test
    void anUnexpectedExceptionIsAGeneric500WithTheRequestId() throws Exception {
        HttpResponse<String> res = get("/boom");
        assertShape(res, 500, "internal_error");
        assertThat(res.body()).doesNotContain("SELECT").doesNotContain("driver");
    }

    @Test
    void helidonsOwnRefusalKeepsItsStatusAndApiErrorsPassThrough() throws Exception {
        assertShape(get("/helidon-refusal"), 400, "bad_request");
        assertShape(get("/api-error"), 400, "bad_thing");
        assertShape(get("/nothing-here"), 404, "not_found");
    }
}
