package io.csr.job.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What ClickHouse must hold after the job processed a set of published messages, recomputed from the messages
 * alone, and the comparison with what is there ({@code FINAL}). Windows are recomputed from ALL distinct valid
 * numeric events: an event too late for its window's allowed lateness is recorded in {@code late_events} and still
 * counted, by a correction recomputed from {@code metrics_timeseries FINAL}.
 */
public final class PipelineExpectations {
    public static final Map<String, Long> WINDOW_SIZES = Map.of("1m", 60_000L, "1h", 3_600_000L, "1d", 86_400_000L);

    private final List<EventFixture.Message> messages;
    private final List<Long> sequences;
    private final String stream;

    /** @param sequences the JetStream sequence each message got, same order */
    public PipelineExpectations(List<EventFixture.Message> messages, List<Long> sequences, String stream) {
        this.messages = messages;
        this.sequences = sequences;
        this.stream = stream;
    }

    public long distinctValidEvents() {
        return messages.stream().filter(EventFixture.Message::valid).map(m -> m.companyId() + "/" + m.eventId()).distinct().count();
    }

    public Set<Long> malformedSequences() {
        Set<Long> out = new HashSet<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).valid()) {
                out.add(sequences.get(i));
            }
        }
        return out;
    }

    public long eventsFinal(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() FROM events FINAL");
    }

    public List<Long> deadLetterSequences(ClickHouseAccess ch) {
        List<Long> out = new ArrayList<>();
        for (JsonNode r : ch.query("SELECT stream_seq FROM dead_letters FINAL WHERE stream = '" + stream + "'")) {
            out.add(r.get("stream_seq").asLong());
        }
        return out;
    }

    /** Differences between metric_windows FINAL and the recomputation; empty when they agree. */
    public List<String> windowMismatches(ClickHouseAccess ch) {
        Map<String, List<Double>> expected = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (EventFixture.Message m : messages) {
            if (!m.valid() || m.metric() == null || !seen.add(m.companyId() + "/" + m.eventId())) {
                continue;
            }
            for (Map.Entry<String, Long> size : WINDOW_SIZES.entrySet()) {
                long start = Math.floorDiv(m.occurredAtMs(), size.getValue()) * size.getValue() / 1000;
                expected.computeIfAbsent(m.companyId() + "|" + m.metric() + "|" + size.getKey() + "|" + start,
                        k -> new ArrayList<>()).add(m.value());
            }
        }
        List<String> problems = new ArrayList<>();
        Set<String> actualKeys = new HashSet<>();
        for (JsonNode r : ch.query("SELECT company_id, metric, window_size, toUInt32(window_start) AS ws, count, sum, min, max,"
                + " p50, p75, p95 FROM metric_windows FINAL")) {
            String key = r.get("company_id").asText() + "|" + r.get("metric").asText() + "|" + r.get("window_size").asText()
                    + "|" + r.get("ws").asLong();
            actualKeys.add(key);
            List<Double> values = expected.get(key);
            if (values == null) {
                problems.add("unexpected window " + key + " " + r);
                continue;
            }
            double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double sum = Arrays.stream(v).sum();
            if (r.get("count").asLong() != v.length) {
                problems.add(key + " count " + r.get("count").asLong() + " != " + v.length);
            }
            if (Math.abs(r.get("sum").asDouble() - sum) > 1e-6 * Math.max(1, Math.abs(sum))) {
                problems.add(key + " sum " + r.get("sum").asDouble() + " != " + sum);
            }
            // exact up to ClickHouse 18.16's float text parsing, which may land one ulp off ("2.47" -> 2.4699999999999998)
            if (!sameDouble(r.get("min").asDouble(), v[0]) || !sameDouble(r.get("max").asDouble(), v[v.length - 1])) {
                problems.add(key + " min/max " + r.get("min") + "/" + r.get("max") + " != " + v[0] + "/" + v[v.length - 1]);
            }
            for (String[] q : new String[][]{{"p50", "0.50"}, {"p75", "0.75"}, {"p95", "0.95"}}) {
                double rank = Double.parseDouble(q[1]) * (v.length - 1);
                double lo = v[(int) Math.floor(rank)] * 0.99 - 1e-9;
                double hi = v[(int) Math.ceil(rank)] * 1.01 + 1e-9;
                double p = r.get(q[0]).asDouble();
                if (p < lo || p > hi) {
                    problems.add(key + " " + q[0] + " " + p + " outside [" + lo + ", " + hi + "] (1% of the exact quantile)");
                }
            }
        }
        for (String key : expected.keySet()) {
            if (!actualKeys.contains(key)) {
                problems.add("missing window " + key + " (" + expected.get(key).size() + " events)");
            }
        }
        return problems;
    }

    private static boolean sameDouble(double a, double b) {
        return a == b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    }
}
