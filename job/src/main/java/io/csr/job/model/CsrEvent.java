package io.csr.job.model;

import org.apache.flink.api.common.typeinfo.TypeInfo;

import java.util.Objects;

/**
 * A validated Contract 1 event. For metrics {@code name} is the metric, for q2q it is {@code q2q_<dimension>} (counted
 * as a metric), for journey it is the flag. Crosses the shuffles in {@link CsrEventSerializer}'s form (never in state).
 */
@TypeInfo(CsrEventSerializer.Factory.class)
public class CsrEvent {
    public String eventId;
    public EventKind kind;
    public String companyId;
    /** Empty string when the event has none (only metrics may omit it). */
    public String userId;
    public long occurredAtMs;
    public String name;
    /**
     * Metric value or q2q score; unused for journey events. For {@link EventKind#BACKFILLED} the end (epoch millis,
     * exclusive) of the backfilled span, which starts at {@link #occurredAtMs}.
     */
    public double value;
    /** Journey flag set (true) or cleared (false); for {@link EventKind#BACKFILLED}: publish the recomputed windows. */
    public boolean flag;
    public String subject;
    public long streamSeq;
    /** The raw JSON text as received. */
    public String payload;

    public CsrEvent() {
    }

    /** True for metric and q2q events: they feed the windowed aggregates. */
    public boolean isNumeric() {
        return kind == EventKind.METRIC || kind == EventKind.Q2Q;
    }

    /** What the window operator takes: numeric events and the backfill's notices about their metric. */
    public boolean feedsWindows() {
        return isNumeric() || kind == EventKind.BACKFILLED;
    }

    /** A backfill's notice: occurredAtMs..value is the span of this (company, metric) it recomputed. */
    public static CsrEvent backfilled(String eventId, String companyId, String metric, long fromMs, long toMs, boolean publish) {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.BACKFILLED;
        e.eventId = eventId;
        e.companyId = companyId;
        e.userId = "";
        e.name = metric;
        e.occurredAtMs = fromMs;
        e.value = toMs;
        e.flag = publish;
        return e;
    }

    /** End (exclusive) of a {@link EventKind#BACKFILLED} notice's span. */
    public long backfilledUntilMs() {
        return (long) value;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CsrEvent)) {
            return false;
        }
        CsrEvent e = (CsrEvent) o;
        return occurredAtMs == e.occurredAtMs && Double.compare(value, e.value) == 0 && flag == e.flag
                && streamSeq == e.streamSeq && Objects.equals(eventId, e.eventId) && kind == e.kind
                && Objects.equals(companyId, e.companyId) && Objects.equals(userId, e.userId)
                && Objects.equals(name, e.name) && Objects.equals(subject, e.subject) && Objects.equals(payload, e.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(eventId, companyId, name, occurredAtMs);
    }

    @Override
    public String toString() {
        return "CsrEvent{" + kind + " " + eventId + " " + companyId + "/" + name + "@" + occurredAtMs + "}";
    }
}
