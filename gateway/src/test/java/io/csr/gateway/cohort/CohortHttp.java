package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** A small HTTP client for the cohort ITCases: JSON in, status + parsed JSON out. */
final class CohortHttp {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final String base;

    CohortHttp(String base) {
        this.base = base;
    }

    record Answer(int status, JsonNode json, String body, HttpResponse<String> raw) {
        String error() {
            return json == null || json.get("error") == null ? null : json.get("error").asText();
        }

        String message() {
            return json == null || json.get("message") == null ? "" : json.get("message").asText();
        }
    }

    Answer get(String pathAndQuery, String token) throws Exception {
        return send("GET", pathAndQuery, token, null);
    }

    Answer send(String method, String pathAndQuery, String token, String jsonBody) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + pathAndQuery))
                .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody));
        if (jsonBody != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = null;
        if (!res.body().isEmpty()) {
            try {
                json = Json.mapper().readTree(res.body());
            } catch (Exception e) {
                json = null;
            }
        }
        return new Answer(res.statusCode(), json, res.body(), res);
    }
}
