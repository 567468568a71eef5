package io.csr.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.csr.common.json.Json;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

/** Writes JSON bodies with the project's one Jackson configuration. */
public final class JsonResponses {
    private JsonResponses() {
    }

    public static void send(ServerResponse res, Object body) {
        byte[] bytes;
        try {
            bytes = Json.mapper().writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render a response body: " + e.getMessage(), e);
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.send(bytes);
    }
}
