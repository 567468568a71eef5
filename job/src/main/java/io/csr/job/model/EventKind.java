package io.csr.job.model;

/**
 * The three subject families of Contract 1, and the backfill's notice on a metric's subject (not an event: it tells
 * the window operator which span of that metric a backfill recomputed; see {@code aggregate.WindowAggregator}).
 * New kinds go at the end: {@code CsrEventSerializer} writes the ordinal.
 */
public enum EventKind {
    METRIC("metric"), JOURNEY("journey"), Q2Q("q2q"), BACKFILLED("backfilled");

    private final String wireName;

    EventKind(String wireName) {
        this.wireName = wireName;
    }

    /** Value of {@code events.event_type}. */
    public String wireName() {
        return wireName;
    }
}
