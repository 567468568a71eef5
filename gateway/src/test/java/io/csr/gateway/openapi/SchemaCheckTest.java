package io.csr.gateway.openapi;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The shape check finds every kind of difference between an answer and the document (against the real document). */
class SchemaCheckTest {
    private static final Map<String, Object> DOC = OpenApiService.document();

    @SuppressWarnings("unchecked")
    private static Map<String, Object> schema(String name) {
        return Map.of("$ref", "#/components/schemas/" + name);
    }

    private static JsonNode json(String s) throws Exception {
        return Json.mapper().readTree(s);
    }

    @Test
    void aMatchingAnswerHasNoDifferences() throws Exception {
        assertThat(SchemaCheck.check(DOC, schema("Error"), json("{\"error\":\"x\",\"message\":\"y\"}"))).isEmpty();
        assertThat(SchemaCheck.check(DOC, schema("Snapshot"), json("{\"companyId\":\"a\",\"generatedAt\":\"2026-11-27T10:00:00Z\","
                + "\"lastEventId\":null,\"metrics\":[],\"journeys\":[]}"))).isEmpty();
    }

    @Test
    void findsExtraMissingMistypedNullAndBadFormats() throws Exception {
        assertThat(SchemaCheck.check(DOC, schema("Error"), json("{\"error\":\"x\",\"message\":\"y\",\"extra\":1}")))
                .containsExactly("$.extra: in the answer, not described by the document");
        assertThat(SchemaCheck.check(DOC, schema("Error"), json("{\"error\":\"x\"}")))
                .containsExactly("$.message: required by the document, absent in the answer");
        assertThat(SchemaCheck.check(DOC, schema("Check"), json("{\"status\":\"UP\",\"latencyMs\":\"fast\"}")))
                .containsExactly("$.latencyMs: expected a number, got STRING");
        assertThat(SchemaCheck.check(DOC, schema("Check"), json("{\"status\":\"MAYBE\",\"latencyMs\":null}")))
                .hasSize(2);
        assertThat(SchemaCheck.check(DOC, schema("Snapshot"), json("{\"companyId\":\"a\",\"generatedAt\":\"yesterday\","
                + "\"lastEventId\":\"1-0\",\"metrics\":[{\"metric\":\"m\"}],\"journeys\":{}}")))
                .contains("$.generatedAt: 'yesterday' is not an ISO-8601 instant", "$.journeys: expected an array, got OBJECT")
                .anyMatch(e -> e.startsWith("$.metrics[0].version: required"));
    }
}
