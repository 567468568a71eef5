package io.csr.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
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
 * Issue 28, findings 3 and 7: bad input is a 400 naming the field and the accepted range (dates: 1970-01-01 to
 * 2105-12-31, what ClickHouse and PostgreSQL both hold), never a 503 and never with SQL or driver text; ids and names
 * follow one Unicode rule on every endpoint, so distinct ids are never stored as one; invalid UTF-8 in a path is a 400;
 * a CSV row the rules refuse is that row's error while the others are written. Every error carries the request id.
 */
class InputValidationITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    private static String admin;

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0"));
        admin = fx.tokens.admin(List.of("iv"));
    }

    private static HttpResponse<String> send(String method, String rawPath, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fx.base() + rawPath)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Authorization", "Bearer " + admin).header("Content-Type", "application/json");
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> send(String method, String rawPath, String body) throws Exception {
        return send(method, rawPath, body, Map.of());
    }

    /** A 400 with the error code, a message containing each of {@code says}, the request id, and nothing from a store. */
    private static JsonNode assert400(HttpResponse<String> res, String error, String... says) throws Exception {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(400);
        JsonNode json = Json.mapper().readTree(res.body());
        assertThat(json.path("error").asText()).as(res.body()).isEqualTo(error);
        assertThat(json.path("message").asText()).contains(says);
        assertThat(json.path("requestId").asText()).isNotBlank().isEqualTo(res.headers().firstValue("X-Request-Id").orElse(null));
        assertThat(res.body()).doesNotContainIgnoringCase("select ").doesNotContainIgnoringCase("insert ")
                .doesNotContain("Exception").doesNotContain("ERROR:").doesNotContain("constraint");
        return json;
    }

    private static String participant(String enrolledOn) {
        return "{\"programme\":\"p\",\"enrolledOn\":\"" + enrolledOn + "\"}";
    }

    @Test
    void datesOutsideWhatBothStoresHoldAre400NamingTheFieldAndTheRange() throws Exception {
        for (String date : List.of("+5874898-01-01", "-0001-01-01", "9999-12-31", "1969-12-31", "2106-01-01")) {
            assert400(send("PUT", "/participants/u1", participant(date)), "bad_enrolledOn", "enrolledOn", "1970-01-01 to 2105-12-31");
        }
        assert400(send("PUT", "/participants/u1", "{\"programme\":\"p\",\"enrolledOn\":\"2026-01-01\",\"leftOn\":\"9999-12-31\",\"outcome\":\"completed\"}"),
                "bad_leftOn", "leftOn", "2105-12-31");
        assert400(send("GET", "/cohort/1/metrics?metric=sroi&startDate=2026-01-01&endDate=9999-12-31", null), "bad_endDate", "2105-12-31");
        assert400(send("GET", "/cohort/1/metrics?metric=sroi&startDate=9999-12-01", null), "bad_startDate", "2105-12-31");
        assert400(send("GET", "/cohort/1/trends?metric=sroi&startDate=1900-01-01&endDate=1900-01-02", null), "bad_endDate", "1970-01-01");
        // the edges themselves are stored and come back in ISO form
        HttpResponse<String> edge = send("PUT", "/participants/edge", "{\"programme\":\"p\",\"enrolledOn\":\"1970-01-01\",\"leftOn\":\"2105-12-31\",\"outcome\":\"completed\"}");
        assertThat(edge.statusCode()).as(edge.body()).isEqualTo(200);
        JsonNode stored = Json.mapper().readTree(edge.body());
        assertThat(stored.path("enrolledOn").asText()).isEqualTo("1970-01-01");
        assertThat(stored.path("leftOn").asText()).isEqualTo("2105-12-31");
    }

    @Test
    void controlCharactersAndLoneSurrogatesAre400OnEveryEndpoint() throws Exception {
        assert400(send("GET", "/participants?languageGroup=%00", null), "bad_languageGroup", "U+0000");
        assert400(send("GET", "/participants?programme=a%C2%85", null), "bad_programme", "U+0085");
        assert400(send("PUT", "/participants/a%C2%85", participant("2026-01-01")), "bad_userId", "U+0085");
        assert400(send("PUT", "/participants/u1", "{\"programme\":\"p\\u0085\",\"enrolledOn\":\"2026-01-01\"}"), "bad_programme", "U+0085");
        assert400(send("PUT", "/participants/u1", "{\"programme\":\"p\\ud800\",\"enrolledOn\":\"2026-01-01\"}"), "bad_programme", "surrogate");
        assert400(send("POST", "/cohorts", "{\"name\":\"n\\u0085\"}"), "bad_name", "U+0085");
        assert400(send("POST", "/cohorts", "{\"name\":\"n\\udc00\"}"), "bad_name", "surrogate");

        HttpResponse<String> created = send("POST", "/cohorts", "{\"name\":\"surrogates\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        long id = Json.mapper().readTree(created.body()).path("id").asLong();
        assert400(send("PUT", "/cohorts/" + id + "/members", "{\"add\":[\"a\\ud800\"]}"), "bad_add", "surrogate");
        assert400(send("PUT", "/cohorts/" + id + "/members", "{\"add\":[\"ok\"],\"remove\":[\"a\\udbff\"]}"), "bad_remove", "surrogate");
        assert400(send("PUT", "/cohorts/" + id + "/members", "{\"add\":[\"a\\u0085\"]}"), "bad_add", "U+0085");
        // distinct ids stay distinct: two that a lossy encoding would both store as "a?"
        HttpResponse<String> two = send("PUT", "/cohorts/" + id + "/members", "{\"add\":[\"a\\ud83d\\ude00\",\"a\\ud83d\\ude01\"]}");
        assertThat(two.statusCode()).as(two.body()).isEqualTo(200);
        assertThat(Json.mapper().readTree(two.body()).path("members").asLong()).isEqualTo(2);
    }

    @Test
    void invalidUtf8InAPathOrQueryIs400() throws Exception {
        assert400(send("PUT", "/participants/%FF", participant("2026-01-01")), "bad_encoding", "UTF-8");
        assert400(send("PUT", "/participants/%FE", participant("2026-01-01")), "bad_encoding", "UTF-8");
        assert400(send("PUT", "/participants/%ED%A0%80", participant("2026-01-01")), "bad_encoding", "UTF-8");
        assert400(send("GET", "/participants?programme=%C3", null), "bad_encoding", "query");
        HttpResponse<String> ok = send("PUT", "/participants/caf%C3%A9", participant("2026-01-01"));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(Json.mapper().readTree(ok.body()).path("userId").asText()).isEqualTo("café");
    }

    @Test
    void aCsvRowWithADateNoStoreHoldsIsThatRowsErrorAndTheOthersAreWritten() throws Exception {
        String csv = "userId,programme,enrolledOn\nc1,p,2026-01-01\nc2,p,+5874898-01-01\nc3,p,9999-12-31\nc4,p,-0001-01-01\nc5,p\u0085x,2026-01-01\nc6,p,2026-01-02\n";
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/participants:import"))
                .header("Authorization", "Bearer " + fx.tokens.admin(List.of("ivcsv")))
                .POST(HttpRequest.BodyPublishers.ofString(csv)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        JsonNode report = Json.mapper().readTree(res.body());
        assertThat(report.path("imported").asInt()).isEqualTo(2);
        assertThat(report.path("errors")).extracting(n -> n.path("line").asInt() + ":" + n.path("field").asText())
                .containsExactly("3:enrolledOn", "4:enrolledOn", "5:enrolledOn", "6:programme");
        assertThat(res.body()).doesNotContainIgnoringCase("insert ");
    }

    @Test
    void everyAnswerCarriesARequestIdAndACallersOwnIsKept() throws Exception {
        HttpResponse<String> res = send("GET", "/participants?limit=0", null, Map.of("X-Request-Id", "trace-0123456789"));
        assertThat(res.headers().firstValue("X-Request-Id")).hasValue("trace-0123456789");
        assert400(res, "bad_limit", "limit");
        HttpResponse<String> junk = send("GET", "/participants", null, Map.of("X-Request-Id", "<script>"));
        assertThat(junk.headers().firstValue("X-Request-Id").orElseThrow()).matches("[0-9a-f]{16}");
        assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(), HttpResponse.BodyHandlers.ofString())
                .headers().firstValue("X-Request-Id")).isPresent();
        // a path no endpoint matches (a %2F in an id splits it): JSON with the id too, not Helidon's plain text
        HttpResponse<String> lost = send("PUT", "/participants/a%2Fb", "{}");
        assertThat(lost.statusCode()).isEqualTo(404);
        assertThat(Json.mapper().readTree(lost.body()).path("error").asText()).isEqualTo("not_found");
        assertThat(Json.mapper().readTree(lost.body()).path("requestId").asText()).isEqualTo(lost.headers().firstValue("X-Request-Id").orElseThrow());
    }
}
