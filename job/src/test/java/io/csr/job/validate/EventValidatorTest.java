package io.csr.job.validate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.model.RawMessage;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import io.csr.job.pipeline.TestMetrics;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class EventValidatorTest {
    private static final String STREAM = "CSR_EVENTS";
    private static final long RECEIVED_AT_MS = java.time.Instant.parse("2026-11-27T10:15:40.123Z").toEpochMilli();
    private static final String RECEIVED_AT_TEXT = "2026-11-27 10:15:40";
    private static final String OCCURRED_AT = "2026-11-27T10:15:30.123Z";
    private static final long OCCURRED_AT_MS = java.time.Instant.parse(OCCURRED_AT).toEpochMilli();

    private OneInputStreamOperatorTestHarness<RawMessage, CsrEvent> harness;
    private TestMetrics metrics;
    private long seq;

    @BeforeEach
    void setUp() throws Exception {
        metrics = new TestMetrics();
        harness = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new EventValidator()), metrics.environment());
        harness.open();
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
        metrics.close();
    }

    private RawMessage message(String subject, byte[] payload) {
        return new RawMessage(STREAM, subject, ++seq, RECEIVED_AT_MS, payload);
    }

    private RawMessage message(String subject, String json) {
        return message(subject, json.getBytes(StandardCharsets.UTF_8));
    }

    private List<CsrEvent> valid() {
        return harness.extractOutputValues();
    }

    private List<TableRow> deadLetters() {
        return harness.getSideOutput(EventValidator.DEAD_LETTERS) == null ? List.of()
                : harness.getSideOutput(EventValidator.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void metricEventBecomesCsrEvent() throws Exception {
        harness.processElement(message("metrics.sroi",
                "{\"eventId\":\"e-1\",\"companyId\":\"acme_1\",\"occurredAt\":\"" + OCCURRED_AT
                        + "\",\"value\":3.25,\"userId\":\"u1\",\"metric\":\"sroi\",\"extra\":1}"), 0);

        assertThat(deadLetters()).isEmpty();
        CsrEvent e = valid().get(0);
        assertThat(e.kind).isEqualTo(EventKind.METRIC);
        assertThat(e.eventId).isEqualTo("e-1");
        assertThat(e.companyId).isEqualTo("acme_1");
        assertThat(e.userId).isEqualTo("u1");
        assertThat(e.name).isEqualTo("sroi");
        assertThat(e.value).isEqualTo(3.25);
        assertThat(e.occurredAtMs).isEqualTo(OCCURRED_AT_MS);
        assertThat(e.subject).isEqualTo("metrics.sroi");
        assertThat(e.streamSeq).isEqualTo(seq);
        assertThat(e.payload).contains("\"extra\":1");
    }

    @Test
    void aBackfillNoticeOnAMetricSubjectBecomesABackfilledEventOfThatMetric() throws Exception {
        String span = "\"backfilled\":{\"from\":\"2026-11-26T10:00:00Z\",\"to\":\"2026-11-26T13:00:00.001Z\"}";
        harness.processElement(message("metrics.sroi", "{\"eventId\":\"backfilled-1\",\"companyId\":\"acme\",\"occurredAt\":\""
                + OCCURRED_AT + "\"," + span + ",\"publishUpdates\":true}"), 0);
        harness.processElement(message("q2q.clarity", "{\"eventId\":\"backfilled-2\",\"companyId\":\"acme\",\"occurredAt\":\""
                + OCCURRED_AT + "\"," + span + "}"), 0);
        harness.processElement(message("metrics.sroi", "{\"eventId\":\"backfilled-3\",\"companyId\":\"acme\",\"occurredAt\":\""
                + OCCURRED_AT + "\",\"backfilled\":{\"from\":\"2026-11-26T13:00:00Z\",\"to\":\"2026-11-26T10:00:00Z\"}}"), 0);

        List<CsrEvent> notices = valid();
        assertThat(notices).hasSize(2).allMatch(e -> e.kind == EventKind.BACKFILLED && !e.isNumeric() && e.feedsWindows());
        assertThat(notices.get(0).name).isEqualTo("sroi");
        assertThat(notices.get(0).occurredAtMs).isEqualTo(java.time.Instant.parse("2026-11-26T10:00:00Z").toEpochMilli());
        assertThat(notices.get(0).backfilledUntilMs()).isEqualTo(java.time.Instant.parse("2026-11-26T13:00:00.001Z").toEpochMilli());
        assertThat(notices.get(0).flag).as("publishUpdates").isTrue();
        assertThat(notices.get(1).name).as("keyed like the q2q metric").isEqualTo("q2q_clarity");
        assertThat(notices.get(1).flag).isFalse();
        assertThat(deadLetters()).singleElement().satisfies(r -> assertThat(r.json).contains("'to' must be after 'from'"));
    }

    /** The one event that a message of {@code subject} becomes: eventId, companyId and occurredAt set, then {@code fields}. */
    private CsrEvent accepted(String subject, String fields) throws Exception {
        harness.processElement(message(subject, "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\"," + fields + "}"), 0);
        assertThat(deadLetters()).isEmpty();
        assertThat(valid()).hasSize(1);
        return valid().get(0);
    }

    @Test
    void metricWithoutUserIdHasEmptyUserId() throws Exception {
        assertThat(accepted("metrics.hours", "\"value\":-2").userId).isEmpty();
    }

    static Stream<Arguments> readings() {
        return Stream.of(
                Arguments.of("q2q.confidence", "\"userId\":\"u\",\"score\":1", EventKind.Q2Q, "q2q_confidence", 1.0),
                Arguments.of("journey.onboarded", "\"userId\":\"u\",\"value\":false", EventKind.JOURNEY, "onboarded", false),
                Arguments.of("journey.onboarded", "\"userId\":\"u\",\"value\":true", EventKind.JOURNEY, "onboarded", true));
    }

    /**
     * A q2q event is counted as a metric under a prefixed name, its score the reading (a Double); a journey event is not
     * numeric and carries its flag (a Boolean).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("readings")
    void q2qAndJourneyEventsGetTheirKindNameAndReading(String subject, String fields, EventKind kind, String name, Object reading)
            throws Exception {
        CsrEvent e = accepted(subject, fields);
        assertThat(e.kind).isEqualTo(kind);
        assertThat(e.name).isEqualTo(name);
        assertThat(e.isNumeric()).as("numeric").isEqualTo(reading instanceof Double);
        Object shown = e.isNumeric() ? (Object) e.value : (Object) e.flag;
        assertThat(shown).isEqualTo(reading);
    }

    @Test
    void partitionedSubjectsAreTheSameEventsAsTheOriginalForm() throws Exception {
        CsrEvent metric = accepted("metrics.3.sroi", "\"value\":2,\"metric\":\"sroi\"");
        assertThat(metric.kind).isEqualTo(EventKind.METRIC);
        assertThat(metric.name).isEqualTo("sroi");
        assertThat(metric.subject).as("the subject as received").isEqualTo("metrics.3.sroi");
        harness.getOutput().clear();
        assertThat(accepted("q2q.0.confidence", "\"userId\":\"u\",\"score\":0.5").name).isEqualTo("q2q_confidence");
        harness.getOutput().clear();
        assertThat(accepted("journey.255.onboarded", "\"userId\":\"u\",\"value\":true").name).isEqualTo("onboarded");
    }

    @Test
    void aPartitionTokenOutsideTheJobsPartitionsIsADeadLetterNamingTheSetting() throws Exception {
        harness.close();
        harness = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new EventValidator(4)), metrics.environment());
        harness.open();
        String body = "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}";
        harness.processElement(message("metrics.3.sroi", body), 0);
        harness.processElement(message("metrics.4.sroi", body), 0);

        assertThat(valid()).singleElement().satisfies(e -> assertThat(e.subject).isEqualTo("metrics.3.sroi"));
        assertThat(deadLetters()).singleElement().satisfies(r -> assertThat(Json.mapper().readTree(r.json).get("error").asText())
                .contains("subject 'metrics.4.sroi': partition token '4' is outside this job's partitions 0..3 (NATS_PARTITIONS=4)")
                .contains("set the same value on producers and the job"));
    }

    static Stream<Arguments> invalidMessages() {
        String ok = "\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\"";
        return Stream.of(
                Arguments.of("metrics.sroi", "{\"eventId\":", "payload is not valid JSON"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":1} trailing", "payload is not valid JSON"),
                Arguments.of("metrics.sroi", "", "payload is empty"),
                Arguments.of("metrics.sroi", "[1,2]", "payload must be a JSON object but is an array"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":NaN}", "payload is not valid JSON"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":1e400}", "field 'value' must be a finite number"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":\"12\"}", "field 'value' must be a finite number but is a string \"12\""),
                Arguments.of("metrics.sroi", "{" + ok + "}", "field 'value' is missing"),
                Arguments.of("metrics.sroi", "{\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}", "field 'eventId' is missing"),
                Arguments.of("metrics.sroi", "{\"eventId\":7,\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}", "field 'eventId' must be a string but is a number 7"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"\",\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}", "field 'eventId' must be 1-128 characters but has 0"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"" + "x".repeat(129) + "\",\"companyId\":\"c\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}", "field 'eventId' must be 1-128 characters but has 129"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"ac me\",\"occurredAt\":\"" + OCCURRED_AT + "\",\"value\":1}", "field 'companyId' must match [A-Za-z0-9_-]{1,64} but is \"ac me\""),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"value\":1}", "field 'occurredAt' is missing"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"yesterday\",\"value\":1}", "field 'occurredAt' must be an ISO-8601 instant"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"1969-12-31T23:59:59Z\",\"value\":1}", "outside 1970-01-01T00:00:00Z..2105-12-31T23:59:59Z"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"2106-01-01T00:00:00Z\",\"value\":1}", "is 2106-01-01T00:00:00Z, outside 1970-01-01T00:00:00Z..2105-12-31T23:59:59Z"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"+1000000000-01-01T00:00:00Z\",\"value\":1}", "is +1000000000-01-01T00:00:00Z, outside 1970-01-01T00:00:00Z..2105-12-31T23:59:59Z"),
                Arguments.of("metrics.sroi", "{\"eventId\":\"e\",\"companyId\":\"c\",\"occurredAt\":\"2026-11-27T10:21:00Z\",\"value\":1}", "more than 5 minutes after the message reached JetStream (2026-11-27T10:15:40.123Z)"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":1,\"metric\":\"vis\"}", "field 'metric' is \"vis\" but the subject 'metrics.sroi' says 'sroi'"),
                Arguments.of("metrics.sroi", "{" + ok + ",\"value\":1,\"userId\":5}", "field 'userId' must be a string but is a number 5"),
                Arguments.of("metrics.Bad-Name", "{" + ok + ",\"value\":1}", "name 'Bad-Name' must match [a-z0-9_]{1,64}"),
                Arguments.of("metrics.a.b", "{" + ok + ",\"value\":1}", "partition token 'a' must be a partition number 0..255"),
                Arguments.of("metrics.03.sroi", "{" + ok + ",\"value\":1}", "partition token '03' must be a partition number 0..255 without leading zeros"),
                Arguments.of("metrics.256.sroi", "{" + ok + ",\"value\":1}", "subject 'metrics.256.sroi': partition token '256'"),
                Arguments.of("journey.-1.onboarded", "{" + ok + ",\"userId\":\"u\",\"value\":true}", "partition token '-1'"),
                Arguments.of("metrics.1.Bad", "{" + ok + ",\"value\":1}", "name 'Bad' must match [a-z0-9_]{1,64}"),
                Arguments.of("metrics.1.sroi.x", "{" + ok + ",\"value\":1}", "subject 'metrics.1.sroi.x' has 4 tokens; expected metrics.<name> or metrics.<partition>.<name>"),
                Arguments.of("metrics.2.sroi", "{" + ok + ",\"value\":1,\"metric\":\"vis\"}", "field 'metric' is \"vis\" but the subject 'metrics.2.sroi' says 'sroi'"),
                Arguments.of("metrics", "{" + ok + ",\"value\":1}", "subject 'metrics' has no name"),
                Arguments.of("orders.new", "{" + ok + ",\"value\":1}", "subject 'orders.new' is not metrics.<metric>, journey.<flag> or q2q.<dimension>"),
                Arguments.of("q2q.confidence", "{" + ok + ",\"userId\":\"u\",\"score\":1.5}", "field 'score' must be in [0, 1] but is 1.5"),
                Arguments.of("q2q.confidence", "{" + ok + ",\"userId\":\"u\",\"score\":-0.1}", "field 'score' must be in [0, 1] but is -0.1"),
                Arguments.of("q2q.confidence", "{" + ok + ",\"score\":0.5}", "field 'userId' is missing"),
                Arguments.of("journey.onboarded", "{" + ok + ",\"userId\":\"u\",\"value\":\"true\"}", "field 'value' must be a boolean (true = flag set, false = cleared) but is a string \"true\""),
                Arguments.of("journey.onboarded", "{" + ok + ",\"userId\":\"u\",\"value\":1}", "field 'value' must be a boolean"),
                Arguments.of("journey.onboarded", "{" + ok + ",\"userId\":\"u\"}", "field 'value' is missing"),
                Arguments.of("journey.onboarded", "{" + ok + ",\"value\":true}", "field 'userId' is missing"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("invalidMessages")
    void invalidMessageGoesToDeadLettersWithReason(String subject, String payload, String reason) throws Exception {
        harness.processElement(message(subject, payload), 0);

        assertThat(valid()).isEmpty();
        TableRow row = deadLetters().get(0);
        assertThat(row.table).isEqualTo("dead_letters");
        JsonNode json = Json.mapper().readTree(row.json);
        assertThat(json.get("error").asText()).contains(reason);
        assertThat(json.get("payload").asText()).isEqualTo(payload);
        assertThat(json.get("subject").asText()).isEqualTo(subject);
        assertThat(json.get("stream").asText()).isEqualTo(STREAM);
        assertThat(json.get("stream_seq").asLong()).isEqualTo(seq);
        assertThat(json.get("received_at").asText()).isEqualTo(RECEIVED_AT_TEXT);
        assertThat(fieldNames(json)).containsExactlyInAnyOrder("received_at", "stream", "subject", "stream_seq", "error", "payload");
    }

    static Stream<Arguments> unreadablePayloads() {
        String big = "{\"eventId\":\"e\",\"pad\":\"" + "x".repeat(EventParser.MAX_PAYLOAD_BYTES) + "\"}";
        return Stream.of(
                Arguments.of(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}, "not valid UTF-8",
                        "{\"a\":\"\uFFFD(\"}"),
                Arguments.of(big.getBytes(StandardCharsets.UTF_8), "more than the 65536-byte limit",
                        big.substring(0, EventParser.MAX_PAYLOAD_BYTES)));
    }

    /** Invalid UTF-8 is kept with replacement characters; an oversize payload is rejected and stored truncated. */
    @ParameterizedTest(name = "{1}")
    @MethodSource("unreadablePayloads")
    void anUnreadablePayloadIsADeadLetterKeptAsFarAsItReads(byte[] payload, String reason, String stored) throws Exception {
        harness.processElement(message("metrics.sroi", payload), 0);

        assertThat(valid()).isEmpty();
        JsonNode json = Json.mapper().readTree(deadLetters().get(0).json);
        assertThat(json.get("error").asText()).contains(reason);
        assertThat(json.get("payload").asText()).isEqualTo(stored);
    }

    @Test
    void nullPayloadAndSubjectDoNotThrow() throws Exception {
        harness.processElement(new RawMessage(STREAM, null, 9, RECEIVED_AT_MS, null), 0);
        JsonNode json = Json.mapper().readTree(deadLetters().get(0).json);
        assertThat(json.get("error").asText()).contains("message has no subject");
        assertThat(json.get("subject").asText()).isEmpty();
    }

    @Test
    void countsInValidAndInvalid() throws Exception {
        accepted("metrics.sroi", "\"value\":1");
        harness.processElement(message("metrics.sroi", "{}"), 0);
        assertThat(deadLetters()).hasSize(1);
        assertThat(metrics.count("eventsIn")).isEqualTo(2);
        assertThat(metrics.count("eventsValid")).isEqualTo(1);
        assertThat(metrics.count("eventsInvalid")).isEqualTo(1);
    }

    private static List<String> fieldNames(JsonNode json) {
        List<String> names = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
