package io.csr.job.pipeline;

import io.csr.job.rows.RowFormat;
import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.config.JobOptions;
import io.csr.job.model.RawMessage;
import io.csr.job.model.RedisUpdate;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The whole operator graph on a MiniCluster with parallelism 2, a bounded source and collecting sinks. */
class CsrPipelineTest {
    private static final int PARALLELISM = 2;
    private static final String STREAM = "CSR_EVENTS";
    private static final long T0 = Instant.parse("2026-11-27T10:15:00Z").toEpochMilli();
    private static final int METRIC_EVENTS_PER_COMPANY = 120;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(PARALLELISM)
                    .build());

    /** A numeric observation the test expects in exactly one window per size. */
    private record Observation(String company, String metric, long occurredAtMs, double value) {
    }

    private final List<RawMessage> messages = new ArrayList<>();
    private final List<Observation> expected = new ArrayList<>();
    private long seq;

    private void publish(String subject, String json, long occurredAtMs) {
        messages.add(new RawMessage(STREAM, subject, ++seq, occurredAtMs + 1_000,
                json.getBytes(StandardCharsets.UTF_8)));
    }

    private void metric(String company, String metric, String eventId, long at, double value) {
        publish("metrics." + metric, "{\"eventId\":\"" + eventId + "\",\"companyId\":\"" + company
                + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at) + "\",\"value\":" + value + "}", at);
    }

    private void journey(String company, String flag, String user, boolean value, long at) {
        publish("journey." + flag, "{\"eventId\":\"j-" + user + "-" + at + "\",\"companyId\":\"" + company
                + "\",\"userId\":\"" + user + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at) + "\",\"value\":" + value + "}", at);
    }

    @Test
    void validEventsAreCountedOnceWindowsMatchARecomputationAndBadInputIsDeadLettered() throws Exception {
        // In occurredAt order (as a JetStream subject delivers it), so no metric event is late for its window.
        for (int i = 0; i < METRIC_EVENTS_PER_COMPANY; i++) {
            for (String company : List.of("acme", "globex")) {
                long at = T0 + i * 1_500L; // spans three minutes
                double value = (i % 17) * 0.5 + 1;
                metric(company, "sroi", company + "-m" + i, at, value);
                expected.add(new Observation(company, "sroi", at, value));
                if (i % 10 == 0) {
                    metric(company, "sroi", company + "-m" + i, at, value); // producer retry: identical message
                }
            }
        }
        publish("q2q.confidence", "{\"eventId\":\"q1\",\"companyId\":\"acme\",\"userId\":\"u1\",\"occurredAt\":\""
                + Instant.ofEpochMilli(T0 + 5_000) + "\",\"score\":0.25}", T0 + 5_000);
        expected.add(new Observation("acme", "q2q_confidence", T0 + 5_000, 0.25));
        journey("acme", "onboarded", "u1", true, T0 + 1_000);
        journey("acme", "onboarded", "u2", true, T0 + 2_000);
        journey("acme", "onboarded", "u1", false, T0 + 3_000);
        publish("metrics.sroi", "{\"eventId\":", T0);
        publish("metrics.sroi", "{\"eventId\":\"x\",\"companyId\":\"acme\",\"occurredAt\":\""
                + Instant.ofEpochMilli(T0) + "\",\"value\":1,\"metric\":\"vis\"}", T0);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        // Like the NATS source: two readers, each with its own share of the messages.
        DataStream<RawMessage> raw = env.fromData(messages, TypeInformation.of(RawMessage.class)).name("test messages")
                .rebalance().map(m -> m).returns(TypeInformation.of(RawMessage.class)).name("readers").setParallelism(PARALLELISM);
        CsrPipeline.PipelineOutputs outputs = CsrPipeline.build(raw, JobOptions.defaults());
        List<TableRow> rows = new ArrayList<>();
        List<RedisUpdate> updates = new ArrayList<>();
        try (CloseableIterator<TableRow> rowIt = outputs.rows().collectAsync();
             CloseableIterator<RedisUpdate> updateIt = outputs.updates().collectAsync()) {
            env.execute("csr-pipeline-test");
            rowIt.forEachRemaining(rows::add);
            updateIt.forEachRemaining(updates::add);
        }

        Map<String, List<JsonNode>> byTable = new HashMap<>();
        for (TableRow row : rows) {
            byTable.computeIfAbsent(row.table, t -> new ArrayList<>()).add(Json.mapper().readTree(row.json));
        }
        int validEvents = expected.size() + 3;
        assertThat(byTable.get("events")).hasSize(validEvents);
        assertThat(byTable.get("events").stream().map(e -> e.get("company_id").asText() + "/" + e.get("event_id").asText())
                .distinct().count()).isEqualTo(validEvents);
        assertThat(byTable.get("metrics_timeseries")).hasSize(expected.size());
        assertThat(byTable.get("dead_letters")).extracting(d -> d.get("error").asText())
                .anySatisfy(e -> assertThat(e).contains("not valid JSON"))
                .anySatisfy(e -> assertThat(e).contains("field 'metric' is \"vis\""))
                .hasSize(2);
        assertThat(byTable.get("late_events")).isNull();

        assertWindowsMatchRecomputation(byTable.get("metric_windows"));
        assertUpdates(updates);
    }

    @Test
    void everyPipelineOperatorHasANameAndAStableUid() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        DataStream<RawMessage> raw = env.fromData(List.of(new RawMessage(STREAM, "metrics.x", 1, T0, new byte[0])),
                TypeInformation.of(RawMessage.class)).name("test messages").uid("test-source");
        CsrPipeline.PipelineOutputs outputs = CsrPipeline.build(raw, JobOptions.defaults());
        outputs.rows().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>()).uid("rows-sink");
        outputs.updates().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>()).uid("updates-sink");

        List<String> uids = new ArrayList<>();
        Map<String, Integer> parallelism = new HashMap<>();
        for (var node : env.getStreamGraph().getStreamNodes()) {
            assertThat(node.getTransformationUID()).as("uid of %s", node.getOperatorName()).isNotBlank();
            uids.add(node.getTransformationUID());
            parallelism.put(node.getTransformationUID(), node.getParallelism());
        }
        assertThat(parallelism.get(CsrPipeline.UID_VALIDATE)).as("validation chains to the source").isEqualTo(1);
        assertThat(parallelism.get(CsrPipeline.UID_WINDOWS)).isEqualTo(PARALLELISM);
        assertThat(uids).contains(CsrPipeline.UID_VALIDATE, CsrPipeline.UID_DEDUP, CsrPipeline.UID_TIMESERIES_ROWS,
                CsrPipeline.UID_EVENT_ROWS, CsrPipeline.UID_NUMERIC, CsrPipeline.UID_WINDOWS, CsrPipeline.UID_WINDOW_ROWS,
                CsrPipeline.UID_WINDOW_UPDATES, CsrPipeline.UID_JOURNEY, CsrPipeline.UID_JOURNEY_FLAGS).doesNotHaveDuplicates();
    }

    private void assertWindowsMatchRecomputation(List<JsonNode> windowRows) {
        Map<String, List<Double>> recomputed = new TreeMap<>();
        for (Observation o : expected) {
            for (Object[] size : new Object[][] {{"1m", 60_000L}, {"1h", 3_600_000L}, {"1d", 86_400_000L}}) {
                long start = o.occurredAtMs() - Math.floorMod(o.occurredAtMs(), (long) size[1]);
                recomputed.computeIfAbsent(o.company() + "|" + o.metric() + "|" + size[0] + "|"
                        + RowFormat.dateTime(start), k -> new ArrayList<>()).add(o.value());
            }
        }
        Map<String, JsonNode> latest = new TreeMap<>();
        for (JsonNode row : windowRows) {
            String key = row.get("company_id").asText() + "|" + row.get("metric").asText() + "|"
                    + row.get("window_size").asText() + "|" + row.get("window_start").asText();
            latest.merge(key, row, (a, b) -> a.get("version").asLong() >= b.get("version").asLong() ? a : b);
        }
        assertThat(latest.keySet()).isEqualTo(recomputed.keySet());
        for (Map.Entry<String, List<Double>> e : recomputed.entrySet()) {
            JsonNode row = latest.get(e.getKey());
            double[] values = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            assertThat(row.get("final").asInt()).as("final %s", e.getKey()).isEqualTo(1);
            assertThat(row.get("count").asLong()).as("count %s", e.getKey()).isEqualTo(values.length);
            assertThat(row.get("sum").asDouble()).as("sum %s", e.getKey()).isEqualTo(Arrays.stream(values).sum());
            assertThat(row.get("min").asDouble()).isEqualTo(values[0]);
            assertThat(row.get("max").asDouble()).isEqualTo(values[values.length - 1]);
            double p50 = values[(int) Math.floor(0.5 * (values.length - 1))];
            assertThat(row.get("p50").asDouble()).as("p50 %s", e.getKey()).isCloseTo(p50, within(p50 * 0.01));
            double p95 = values[(int) Math.floor(0.95 * (values.length - 1))];
            assertThat(row.get("p95").asDouble()).as("p95 %s", e.getKey()).isCloseTo(p95, within(p95 * 0.01));
        }
        Map<String, Long> versionsPerWindow = windowRows.stream().collect(Collectors.groupingBy(
                r -> r.get("company_id").asText() + r.get("metric").asText() + r.get("window_size").asText()
                        + r.get("window_start").asText(), Collectors.counting()));
        assertThat(windowRows.stream().map(r -> r.get("company_id").asText() + r.get("metric").asText()
                + r.get("window_size").asText() + r.get("window_start").asText() + "#" + r.get("version").asLong())
                .distinct().count()).as("versions are unique per window").isEqualTo(windowRows.size());
        assertThat(versionsPerWindow).isNotEmpty();
    }

    private void assertUpdates(List<RedisUpdate> updates) throws Exception {
        List<JsonNode> journey = new ArrayList<>();
        Map<String, java.util.Set<String>> finalMetricUpdates = new HashMap<>();
        for (RedisUpdate u : updates) {
            JsonNode data = Json.mapper().readTree(u.json);
            assertThat(data.get("companyId").asText()).isEqualTo(u.companyId);
            switch (u.type) {
                case "journey_flag_updated" -> journey.add(data);
                case "sroi_updated", "metric_updated" -> {
                    if (data.get("final").asBoolean()) {
                        // a window may fire final again (higher version) when a reader delivered data for it late
                        finalMetricUpdates.computeIfAbsent(u.type, t -> new java.util.HashSet<>()).add(data.get("companyId").asText()
                                + data.get("metric").asText() + data.get("window").asText() + data.get("windowStart").asText());
                    }
                }
                default -> throw new AssertionError("unexpected update type " + u.type);
            }
        }
        assertThat(journey).isNotEmpty();
        assertThat(journey.get(journey.size() - 1).get("usersFlagged").asLong()).isEqualTo(1);
        // acme+globex sroi: 3 minutes + 1 hour + 1 day each; acme q2q: 1 of each size.
        assertThat(finalMetricUpdates.get("sroi_updated")).hasSize(10);
        assertThat(finalMetricUpdates.get("metric_updated")).hasSize(3);
    }
}
