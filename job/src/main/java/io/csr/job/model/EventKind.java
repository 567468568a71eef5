package io.csr.job.model;

/** The three subject families of Contract 1. */
public enum EventKind {
    METRIC("metric"), JOURNEY("journey"), Q2Q("q2q");

    private final String wireName;

    EventKind(String wireName) {
        this.wireName = wireName;
    }

    /** Value of {@code events.event_type}. */
    public String wireName() {
        return wireName;
    }
}
