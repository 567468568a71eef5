package io.csr.gateway.cohort.rule;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.InputRules;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads a rule from JSON, refusing anything outside the language of Contract 4 with a 400 {@code bad_rule} whose message
 * starts with the JSON path of the offending part ({@code rule.all[1].days}) and says what is allowed there. Bounded:
 * at most {@value #MAX_DEPTH} levels of nesting and {@value #MAX_NODES} elements in all, so one rule can never turn into
 * an unbounded number of queries.
 */
public final class RuleParser {
    public static final int MAX_DEPTH = 6;
    public static final int MAX_NODES = 50;
    public static final int MAX_VALUES = 200;
    public static final int MAX_DAYS = 3_660;
    static final Pattern METRIC = Pattern.compile("[a-z0-9_]{1,64}");
    static final Pattern FLAG = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final String ELEMENTS = "one of {\"all\":[…]}, {\"any\":[…]}, {\"not\":{…}}, {\"attr\":…,\"in\":[…]},"
            + " {\"attr\":\"enrolledOn\"|\"leftOn\",\"from\"?,\"to\"?}, {\"flag\":…,\"state\":\"set\"|\"ever\"},"
            + " {\"metric\":…,\"agg\":…,\"days\":N,\"op\":…,\"value\":x}, {\"active\":{\"days\":N}}";

    private int nodes;

    private RuleParser() {
    }

    /** The rule at {@code path} (used in messages, e.g. {@code rule}). */
    public static Rule parse(JsonNode node, String path) {
        return new RuleParser().rule(node, path, 1);
    }

    /** The one of {@code values} whose wire text is {@code text}; else a 400 at {@code path}: the text, then {@code refusal}. */
    private static <E> E oneOf(E[] values, Function<E, String> wire, String text, String path, String refusal) {
        for (E e : values) {
            if (wire.apply(e).equals(text)) {
                return e;
            }
        }
        throw bad(path, "'" + InputRules.shown(text) + "' " + refusal);
    }

    private static ApiError bad(String path, String message) {
        return ApiError.badRequest("bad_rule", path + ": " + message);
    }

    private Rule rule(JsonNode n, String path, int depth) {
        if (depth > MAX_DEPTH) {
            throw bad(path, "nested deeper than " + MAX_DEPTH + " levels; flatten the rule (all/any take lists)");
        }
        if (++nodes > MAX_NODES) {
            throw bad(path, "the rule has more than " + MAX_NODES + " elements; split it or use fewer conditions");
        }
        if (n == null || !n.isObject()) {
            throw bad(path, "must be a JSON object, " + ELEMENTS);
        }
        if (n.has("all")) {
            only(n, path, Set.of("all"));
            return new Rule.All(list(n.get("all"), path + ".all", depth));
        }
        if (n.has("any")) {
            only(n, path, Set.of("any"));
            return new Rule.Any(list(n.get("any"), path + ".any", depth));
        }
        if (n.has("not")) {
            only(n, path, Set.of("not"));
            return new Rule.Not(rule(n.get("not"), path + ".not", depth + 1));
        }
        if (n.has("attr")) {
            return attribute(n, path);
        }
        if (n.has("flag")) {
            only(n, path, Set.of("flag", "state"));
            String flag = text(n.get("flag"), path + ".flag");
            if (!FLAG.matcher(flag).matches()) {
                throw bad(path + ".flag", "'" + InputRules.shown(flag) + "' is not a journey flag name; use [A-Za-z0-9_-]{1,64} (the <flag> of journey.<flag>)");
            }
            String state = n.has("state") ? text(n.get("state"), path + ".state") : "set";
            if (!state.equals("set") && !state.equals("ever")) {
                throw bad(path + ".state", "'" + InputRules.shown(state) + "' is not allowed; use \"set\" (set now) or \"ever\" (set at any time)");
            }
            return new Rule.Flag(flag, state.equals("ever"));
        }
        if (n.has("metric")) {
            only(n, path, Set.of("metric", "agg", "days", "op", "value"));
            String metric = text(n.get("metric"), path + ".metric");
            if (!METRIC.matcher(metric).matches()) {
                throw bad(path + ".metric", "'" + InputRules.shown(metric) + "' is not a metric name; use [a-z0-9_]{1,64}, e.g. sroi");
            }
            Rule.Aggregate agg = oneOf(Rule.Aggregate.values(), a -> a.wireName, text(n.get("agg"), path + ".agg"), path + ".agg",
                    "is not allowed; use avg, min, max or count");
            int days = days(n.get("days"), path + ".days");
            Rule.Comparison op = oneOf(Rule.Comparison.values(), c -> c.symbol, text(n.get("op"), path + ".op"), path + ".op",
                    "is not allowed; use >=, >, <=, < or =");
            JsonNode v = n.get("value");
            if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) {
                throw bad(path + ".value", "must be a finite JSON number");
            }
            return new Rule.Behaviour(metric, agg, days, op, v.asDouble());
        }
        if (n.has("active")) {
            only(n, path, Set.of("active"));
            JsonNode a = n.get("active");
            if (a == null || !a.isObject()) {
                throw bad(path + ".active", "must be {\"days\":N} with N from 1 to " + MAX_DAYS);
            }
            only(a, path + ".active", Set.of("days"));
            return new Rule.Active(days(a.get("days"), path + ".active.days"));
        }
        throw bad(path, "is not a rule element; use " + ELEMENTS);
    }

    private List<Rule> list(JsonNode n, String path, int depth) {
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw bad(path, "must be a non-empty array of rules");
        }
        List<Rule> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            out.add(rule(n.get(i), path + "[" + i + "]", depth + 1));
        }
        return List.copyOf(out);
    }

    private Rule attribute(JsonNode n, String path) {
        Rule.Attribute attr = oneOf(Rule.Attribute.values(), a -> a.wireName, text(n.get("attr"), path + ".attr"), path + ".attr",
                "is not an attribute; use programme, languageGroup, outcome (with \"in\") or enrolledOn, leftOn (with \"from\"/\"to\")");
        if (attr.date) {
            only(n, path, Set.of("attr", "from", "to"));
            LocalDate from = n.hasNonNull("from") ? date(n.get("from"), path + ".from") : null;
            LocalDate to = n.hasNonNull("to") ? date(n.get("to"), path + ".to") : null;
            if (from == null && to == null) {
                throw bad(path, "give \"from\" and/or \"to\" (YYYY-MM-DD, inclusive) for " + attr.wireName);
            }
            if (from != null && to != null && from.isAfter(to)) {
                throw bad(path + ".from", from + " is after to " + to + "; give from <= to (both inclusive)");
            }
            return new Rule.AttrDates(attr, from, to);
        }
        only(n, path, Set.of("attr", "in"));
        JsonNode in = n.get("in");
        if (in == null || !in.isArray() || in.isEmpty() || in.size() > MAX_VALUES) {
            throw bad(path + ".in", "must be an array of 1 to " + MAX_VALUES + " values");
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            JsonNode v = in.get(i);
            String p = path + ".in[" + i + "]";
            if (v.isNull()) {
                if (attr == Rule.Attribute.PROGRAMME) {
                    throw bad(p, "null is not allowed: every participant has a programme");
                }
                values.add(null);
                continue;
            }
            String s = text(v, p);
            String problem = InputRules.textProblem(s, 1, 200, false);
            if (problem != null) {
                throw bad(p, "'" + InputRules.shown(s) + "' " + problem + "; use 1-200 characters of text");
            }
            if (attr == Rule.Attribute.OUTCOME && !s.equals("completed") && !s.equals("dropped_out")) {
                throw bad(p, "'" + InputRules.shown(s) + "' is not an outcome; use \"completed\", \"dropped_out\" or null (still in)");
            }
            values.add(s);
        }
        return new Rule.AttrIn(attr, java.util.Collections.unmodifiableList(values));
    }

    private static void only(JsonNode n, String path, Set<String> allowed) {
        Iterator<String> names = n.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!allowed.contains(f)) {
                throw bad(path + "." + InputRules.shown(f), "unknown field; this element takes only " + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }
    }

    private static String text(JsonNode v, String path) {
        if (v == null || !v.isTextual()) {
            throw bad(path, "must be a JSON string");
        }
        return v.asText();
    }

    private static int days(JsonNode v, String path) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1 || v.asInt() > MAX_DAYS) {
            throw bad(path, "must be a whole number of days from 1 to " + MAX_DAYS);
        }
        return v.asInt();
    }

    private static LocalDate date(JsonNode v, String path) {
        String s = text(v, path);
        try {
            return InputRules.date(s);
        } catch (IllegalArgumentException e) {
            throw bad(path, e.getMessage());
        }
    }
}
