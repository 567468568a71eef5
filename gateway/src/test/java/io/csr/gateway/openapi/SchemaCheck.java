package io.csr.gateway.openapi;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks a JSON answer against a schema of the OpenAPI document — the subset the document uses: {@code $ref},
 * {@code type}, {@code nullable}, {@code enum}, {@code required}, {@code properties}, {@code additionalProperties}
 * (closed when {@code false}: an answer field the document does not describe is a difference too), {@code items},
 * {@code format: date / date-time}. A schema without {@code type} accepts any value.
 */
final class SchemaCheck {
    private final Map<String, Object> doc;
    private final List<String> errors = new ArrayList<>();

    private SchemaCheck(Map<String, Object> doc) {
        this.doc = doc;
    }

    /** Every difference between {@code value} and {@code schema}, each naming the JSON path; empty when it matches. */
    static List<String> check(Map<String, Object> doc, Map<String, Object> schema, JsonNode value) {
        SchemaCheck c = new SchemaCheck(doc);
        c.check(schema, value, "$");
        return c.errors;
    }

    private Map<String, Object> resolve(Map<String, Object> schema) {
        return resolve(doc, schema);
    }

    /** Follows {@code $ref} (local {@code #/…} references) until a node without one. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> resolve(Map<String, Object> doc, Map<String, Object> schema) {
        Object ref = schema.get("$ref");
        if (ref == null) {
            return schema;
        }
        Object node = doc;
        for (String part : String.valueOf(ref).replaceFirst("^#/", "").split("/")) {
            node = ((Map<String, Object>) node).get(part);
            if (node == null) {
                throw new IllegalStateException("the document has no " + ref);
            }
        }
        return resolve(doc, (Map<String, Object>) node);
    }

    @SuppressWarnings("unchecked")
    private void check(Map<String, Object> raw, JsonNode v, String at) {
        Map<String, Object> s = resolve(raw);
        if (v == null || v.isMissingNode()) {
            errors.add(at + ": missing");
            return;
        }
        if (v.isNull()) {
            if (!Boolean.TRUE.equals(s.get("nullable")) && s.get("type") != null) {
                errors.add(at + ": null, but the document does not say nullable");
            }
            return;
        }
        Object type = s.get("type");
        if (s.get("enum") instanceof List<?> allowed && !allowed.stream().map(String::valueOf).toList().contains(v.asText())) {
            errors.add(at + ": '" + v.asText() + "' is not one of " + allowed);
        }
        if (type == null) {
            return;
        }
        switch (String.valueOf(type)) {
            case "object" -> {
                if (!v.isObject()) {
                    errors.add(at + ": expected an object, got " + v.getNodeType());
                    return;
                }
                Map<String, Object> props = (Map<String, Object>) s.getOrDefault("properties", Map.of());
                for (Object r : (List<Object>) s.getOrDefault("required", List.of())) {
                    if (!v.has(String.valueOf(r))) {
                        errors.add(at + "." + r + ": required by the document, absent in the answer");
                    }
                }
                Object additional = s.get("additionalProperties");
                for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> f = it.next();
                    if (props.containsKey(f.getKey())) {
                        check((Map<String, Object>) props.get(f.getKey()), f.getValue(), at + "." + f.getKey());
                    } else if (additional instanceof Map<?, ?> extra) {
                        check((Map<String, Object>) extra, f.getValue(), at + "." + f.getKey());
                    } else if (!Boolean.TRUE.equals(additional)) {
                        errors.add(at + "." + f.getKey() + ": in the answer, not described by the document");
                    }
                }
            }
            case "array" -> {
                if (!v.isArray()) {
                    errors.add(at + ": expected an array, got " + v.getNodeType());
                    return;
                }
                for (int i = 0; i < v.size(); i++) {
                    check((Map<String, Object>) s.getOrDefault("items", Map.of()), v.get(i), at + "[" + i + "]");
                }
            }
            case "string" -> {
                if (!v.isTextual()) {
                    errors.add(at + ": expected a string, got " + v.getNodeType());
                } else if ("date-time".equals(s.get("format"))) {
                    try {
                        Instant.parse(v.asText());
                    } catch (RuntimeException e) {
                        errors.add(at + ": '" + v.asText() + "' is not an ISO-8601 instant");
                    }
                } else if ("date".equals(s.get("format"))) {
                    try {
                        LocalDate.parse(v.asText());
                    } catch (RuntimeException e) {
                        errors.add(at + ": '" + v.asText() + "' is not a YYYY-MM-DD date");
                    }
                }
            }
            case "integer" -> {
                if (!v.isIntegralNumber()) {
                    errors.add(at + ": expected an integer, got " + v.getNodeType() + " " + v);
                }
            }
            case "number" -> {
                if (!v.isNumber()) {
                    errors.add(at + ": expected a number, got " + v.getNodeType());
                }
            }
            case "boolean" -> {
                if (!v.isBoolean()) {
                    errors.add(at + ": expected a boolean, got " + v.getNodeType());
                }
            }
            default -> errors.add(at + ": the document uses type '" + type + "' this check does not know");
        }
    }
}
