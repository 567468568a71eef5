package io.csr.gateway.openapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.csr.common.json.Json;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaTypes;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * {@code GET /openapi}: the gateway's OpenAPI 3 document, the checked-in {@code openapi/openapi.yaml} resource — as
 * YAML, or as JSON when the client accepts {@code application/json} and not YAML. Read and parsed once at start, so a
 * broken document stops the gateway instead of being served.
 */
public final class OpenApiService implements HttpService {
    public static final String RESOURCE = "openapi/openapi.yaml";

    private final byte[] yaml;
    private final byte[] json;

    public OpenApiService() {
        this.yaml = read();
        try {
            this.json = Json.mapper().writeValueAsBytes(parse(new String(yaml, StandardCharsets.UTF_8)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the OpenAPI document " + RESOURCE + " cannot be rendered as JSON: " + e.getMessage(), e);
        }
    }

    /** The document as plain maps and lists (snakeyaml's safe constructor: no custom tags). */
    public static Map<String, Object> document() {
        return parse(new String(read(), StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String text) {
        Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
        if (!(doc instanceof Map<?, ?> m) || !String.valueOf(m.get("openapi")).startsWith("3.")) {
            throw new IllegalStateException("the resource " + RESOURCE + " is not an OpenAPI 3 document (no 'openapi: 3.x' at its top)");
        }
        return (Map<String, Object>) doc;
    }

    private static byte[] read() {
        try (InputStream in = OpenApiService.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the OpenAPI document " + RESOURCE + " is missing from the gateway's classpath; rebuild the gateway");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::openapi);
    }

    private void openapi(ServerRequest req, ServerResponse res) {
        String accept = req.headers().first(HeaderNames.ACCEPT).orElse("");
        boolean asJson = accept.contains("application/json") && !accept.contains("yaml");
        res.header(HeaderNames.CONTENT_TYPE, asJson ? HttpMediaTypes.JSON_UTF_8.text() : "application/yaml; charset=utf-8");
        res.send(asJson ? json : yaml);
    }
}
