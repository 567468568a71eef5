package io.csr.job.validate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.csr.common.contract.EventSubjects;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.model.RawMessage;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/**
 * The rules of Contract 1, as plain Java (no Flink) so every rule is easy to test. {@link #parse} never throws: it
 * returns either an event or a reason a person can act on, naming the field, the offending value and the rule.
 */
public final class EventParser {
    /** Contract 1: one JSON object per message, at most 64 KiB. */
    public static final int MAX_PAYLOAD_BYTES = 64 * 1024;
    public static final int MAX_EVENT_ID_CHARS = 128;
    /** Not in the contract; a sanity bound so one field cannot carry a whole document. */
    public static final int MAX_USER_ID_CHARS = 1024;
    /** ClickHouse DateTime('UTC') stores 1970-01-01 00:00:00 .. 2105-12-31 23:59:59; outside it an insert fails. */
    public static final long MAX_OCCURRED_AT_MS = Instant.parse("2105-12-31T23:59:59Z").toEpochMilli();

    /**
     * Not in the contract: an occurredAt this far after JetStream's own timestamp of the message is rejected, because a
     * single event from a wrong clock would push the event-time watermark ahead and make every other event late.
     */
    public static final long MAX_FUTURE_SKEW_MS = 5 * 60_000L;

    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final int SHOWN_VALUE_CHARS = 80;

    /** Partition tokens this job reads ({@code NATS_PARTITIONS}); a token at or above it is a producer's mistake. */
    private final int partitions;
    private final ObjectReader reader = Json.mapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Either {@code event} or {@code error} is set; {@code payloadText} is the raw payload as text in both cases. */
    public record Result(CsrEvent event, String error, String payloadText) {
    }

    /** Thrown inside the parser only, to stop at the first broken rule. */
    private static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String reason) {
            super(reason, null, false, false);
        }
    }

    /** Accepts any partition token below {@link EventSubjects#MAX_PARTITIONS} (history from event_log, tests). */
    public EventParser() {
        this(EventSubjects.MAX_PARTITIONS);
    }

    /** Accepts partition tokens {@code 0 .. partitions - 1}: the job's {@code NATS_PARTITIONS}. */
    public EventParser(int partitions) {
        this.partitions = EventSubjects.requirePartitions(partitions);
    }

    public Result parse(RawMessage message) {
        byte[] bytes = message.payload == null ? new byte[0] : message.payload;
        if (bytes.length > MAX_PAYLOAD_BYTES) {
            String head = lenientText(bytes, MAX_PAYLOAD_BYTES);
            return new Result(null, "payload is " + bytes.length + " bytes, more than the " + MAX_PAYLOAD_BYTES
                    + "-byte limit of Contract 1 (stored truncated to " + MAX_PAYLOAD_BYTES + " bytes); send smaller events",
                    head);
        }
        String text;
        try {
            text = strictUtf8(bytes);
        } catch (CharacterCodingException e) {
            return new Result(null, "payload is not valid UTF-8 (stored with U+FFFD replacement characters); "
                    + "the producer must send UTF-8 JSON", lenientText(bytes, bytes.length));
        }
        try {
            return new Result(toEvent(message, text), null, text);
        } catch (Invalid e) {
            return new Result(null, e.getMessage(), text);
        } catch (RuntimeException e) {
            // A rule this class forgot must still not fail the job: the message goes to dead letters with the cause.
            return new Result(null, "unexpected validation failure: " + e, text);
        }
    }

    private CsrEvent toEvent(RawMessage message, String text) throws Invalid {
        String subject = message.subject;
        EventSubjects.Subject parts;
        try {
            parts = EventSubjects.parse(subject);
        } catch (EventSubjects.InvalidSubject e) {
            throw new Invalid(e.getMessage());
        }
        if (parts.partition() >= partitions) {
            throw new Invalid("subject '" + shown(subject) + "': partition token '" + parts.partition() + "' is outside this job's "
                    + "partitions 0.." + (partitions - 1) + " (NATS_PARTITIONS=" + partitions + "); the producer uses another "
                    + "NATS_PARTITIONS: set the same value on producers and the job");
        }
        String suffix = parts.name();
        EventKind kind;
        switch (parts.family()) {
            case "metrics": kind = EventKind.METRIC; break;
            case "journey": kind = EventKind.JOURNEY; break;
            default: kind = EventKind.Q2Q; break;
        }
        if (text.isBlank()) {
            throw new Invalid("payload is empty; expected one JSON object");
        }

        JsonNode root;
        try {
            root = reader.readTree(text);
        } catch (JsonProcessingException e) {
            throw new Invalid("payload is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr()));
        }
        if (root == null || !root.isObject()) {
            throw new Invalid("payload must be a JSON object but is " + (root == null ? "empty" : kindOf(root)));
        }

        CsrEvent event = new CsrEvent();
        event.kind = kind;
        event.subject = subject;
        event.streamSeq = message.streamSeq;
        event.payload = text;

        event.eventId = requiredString(root, "eventId");
        if (event.eventId.isEmpty() || event.eventId.length() > MAX_EVENT_ID_CHARS) {
            throw new Invalid("field 'eventId' must be 1-" + MAX_EVENT_ID_CHARS + " characters but has "
                    + event.eventId.length() + ": \"" + shown(event.eventId) + "\"");
        }
        event.companyId = requiredString(root, "companyId");
        if (!COMPANY_ID.matcher(event.companyId).matches()) {
            throw new Invalid("field 'companyId' must match [A-Za-z0-9_-]{1,64} but is \"" + shown(event.companyId) + "\"");
        }
        event.occurredAtMs = occurredAt(root);
        if (message.receivedAtMs > 0 && event.occurredAtMs > message.receivedAtMs + MAX_FUTURE_SKEW_MS) {
            throw new Invalid("field 'occurredAt' is " + root.get("occurredAt").textValue() + ", more than "
                    + MAX_FUTURE_SKEW_MS / 60_000 + " minutes after the message reached JetStream ("
                    + Instant.ofEpochMilli(message.receivedAtMs) + "); fix the producer's clock");
        }

        JsonNode backfilled = root.get("backfilled");
        if (backfilled != null && !backfilled.isNull() && kind != EventKind.JOURNEY) {
            // the backfill's notice (BackfillNotices): which span of this metric it recomputed
            if (!backfilled.isObject()) {
                throw mistyped("backfilled", "an object {\"from\": ISO instant, \"to\": ISO instant}", backfilled);
            }
            long from = instant(backfilled, "backfilled.from");
            long to = instant(backfilled, "backfilled.to");
            if (to <= from) {
                throw new Invalid("field 'backfilled' spans " + backfilled.get("from").textValue() + " .. "
                        + backfilled.get("to").textValue() + ": 'to' must be after 'from'");
            }
            JsonNode publish = root.get("publishUpdates");
            if (publish != null && !publish.isNull() && !publish.isBoolean()) {
                throw mistyped("publishUpdates", "a boolean", publish);
            }
            CsrEvent notice = CsrEvent.backfilled(event.eventId, event.companyId, kind == EventKind.Q2Q ? "q2q_" + suffix : suffix,
                    from, to, publish != null && publish.asBoolean(false));
            notice.subject = subject;
            notice.streamSeq = message.streamSeq;
            notice.payload = text;
            return notice;
        }
        switch (kind) {
            case METRIC:
                event.name = suffix;
                JsonNode metric = root.get("metric");
                if (metric != null && !metric.isNull()) {
                    if (!metric.isTextual()) {
                        throw mistyped("metric", "a string", metric);
                    }
                    if (!metric.textValue().equals(suffix)) {
                        throw new Invalid("field 'metric' is \"" + shown(metric.textValue()) + "\" but the subject '"
                                + shown(subject) + "' says '" + suffix + "'; they must be equal");
                    }
                }
                event.value = finiteNumber(root, "value");
                event.userId = optionalUserId(root);
                break;
            case Q2Q:
                event.name = "q2q_" + suffix;
                event.value = finiteNumber(root, "score");
                if (event.value < 0.0 || event.value > 1.0) {
                    throw new Invalid("field 'score' must be in [0, 1] but is " + root.get("score").asText());
                }
                event.userId = requiredUserId(root);
                break;
            case JOURNEY:
                event.name = suffix;
                JsonNode value = root.get("value");
                if (value == null || value.isNull()) {
                    throw new Invalid("field 'value' is missing; journey events need a boolean (flag set or cleared)");
                }
                if (!value.isBoolean()) {
                    throw mistyped("value", "a boolean (true = flag set, false = cleared)", value);
                }
                event.flag = value.booleanValue();
                event.userId = requiredUserId(root);
                break;
            default:
                throw new IllegalStateException("unhandled kind " + kind);
        }
        return event;
    }

    private static long occurredAt(JsonNode root) throws Invalid {
        String raw = requiredString(root, "occurredAt");
        long at;
        try {
            at = IsoInstant.parseMillis(raw);
        } catch (DateTimeParseException e) {
            throw new Invalid("field 'occurredAt' must be an ISO-8601 instant like 2026-11-27T10:15:30.123Z but is \""
                    + shown(raw) + "\"");
        } catch (ArithmeticException e) { // a valid instant beyond the epoch-millis range
            at = Long.MAX_VALUE;
        }
        if (at < 0 || at > MAX_OCCURRED_AT_MS) {
            throw new Invalid("field 'occurredAt' is " + raw + ", outside 1970-01-01T00:00:00Z..2105-12-31T23:59:59Z "
                    + "(the range ClickHouse DateTime stores)");
        }
        return at;
    }

    /** An ISO-8601 instant at {@code path} ("object.field") within the ClickHouse DateTime range. */
    private static long instant(JsonNode object, String path) throws Invalid {
        String field = path.substring(path.indexOf('.') + 1);
        JsonNode node = object.get(field);
        if (node == null || !node.isTextual()) {
            throw new Invalid("field '" + path + "' must be an ISO-8601 instant like 2026-11-27T00:00:00Z");
        }
        try {
            long at = IsoInstant.parseMillis(node.textValue());
            if (at >= 0 && at <= MAX_OCCURRED_AT_MS + 1_000) {
                return at;
            }
        } catch (DateTimeParseException | ArithmeticException e) {
            // named below
        }
        throw new Invalid("field '" + path + "' must be an ISO-8601 instant within 1970..2105 but is \"" + shown(node.textValue()) + "\"");
    }

    private static double finiteNumber(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw new Invalid("field '" + field + "' is missing; it must be a finite number");
        }
        if (!node.isNumber()) {
            throw mistyped(field, "a finite number", node);
        }
        double v = node.doubleValue();
        if (!Double.isFinite(v)) {
            throw new Invalid("field '" + field + "' must be a finite number but " + shown(node.asText())
                    + " is out of the double range");
        }
        return v;
    }

    private static String requiredUserId(JsonNode root) throws Invalid {
        String userId = optionalUserId(root);
        if (userId.isEmpty()) {
            throw new Invalid("field 'userId' is missing; it is required for journey and q2q events");
        }
        return userId;
    }

    /** Empty string when absent or null; a present userId must be a non-empty string. */
    private static String optionalUserId(JsonNode root) throws Invalid {
        String userId = optionalString(root, "userId");
        if (userId == null) {
            return "";
        }
        if (userId.isEmpty() || userId.length() > MAX_USER_ID_CHARS) {
            throw new Invalid("field 'userId' must be 1-" + MAX_USER_ID_CHARS + " characters but has " + userId.length());
        }
        return userId;
    }

    private static String requiredString(JsonNode root, String field) throws Invalid {
        String value = optionalString(root, field);
        if (value == null) {
            throw new Invalid("field '" + field + "' is missing");
        }
        return value;
    }

    /** Null when absent or null; a present field must be a string. */
    private static String optionalString(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw mistyped(field, "a string", node);
        }
        return node.textValue();
    }

    private static Invalid mistyped(String field, String expected, JsonNode actual) {
        return new Invalid("field '" + field + "' must be " + expected + " but is " + kindOf(actual) + " "
                + shown(actual.toString()));
    }

    private static String kindOf(JsonNode node) {
        switch (node.getNodeType()) {
            case STRING: return "a string";
            case NUMBER: return "a number";
            case BOOLEAN: return "a boolean";
            case ARRAY: return "an array";
            case OBJECT: return "an object";
            case NULL: return "null";
            default: return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static String shown(String value) {
        return value.length() <= SHOWN_VALUE_CHARS ? value : value.substring(0, SHOWN_VALUE_CHARS) + "…";
    }

    private static String strictUtf8(byte[] bytes) throws CharacterCodingException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars = decoder.decode(ByteBuffer.wrap(bytes));
        return chars.toString();
    }

    /** The first {@code length} bytes as text, invalid sequences replaced by U+FFFD. */
    private static String lenientText(byte[] bytes, int length) {
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }
}
