package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A stored rule's JSON text as a tree for an answer (it was validated before it was stored). */
final class RuleJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RuleJson() {
    }

    static JsonNode tree(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException("stored rule is not JSON: " + e.getMessage(), e);
        }
    }
}
