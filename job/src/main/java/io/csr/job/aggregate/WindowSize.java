package io.csr.job.aggregate;

/** The event-time tumbling windows of every (company, metric): 1 minute, 1 hour, 1 day, aligned to the epoch (UTC). */
public enum WindowSize {
    MINUTE("1m", 60_000L),
    HOUR("1h", 3_600_000L),
    DAY("1d", 86_400_000L);

    private final String label;
    private final long millis;

    WindowSize(String label, long millis) {
        this.label = label;
        this.millis = millis;
    }

    /** Value of {@code metric_windows.window_size} and of the contract's {@code window}. */
    public String label() {
        return label;
    }

    /** The size of a {@code window_size} label; an unknown label is named with the ones that exist. */
    public static WindowSize of(String label) {
        for (WindowSize s : values()) {
            if (s.label.equals(label)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown window_size '" + label + "' (expected 1m, 1h or 1d)");
    }

    public long millis() {
        return millis;
    }

    /** Start of the window holding {@code timestampMs}. */
    public long startOf(long timestampMs) {
        return timestampMs - Math.floorMod(timestampMs, millis);
    }

    /** Last millisecond inside the window starting at {@code startMs} (Flink's maxTimestamp). */
    public long maxTimestamp(long startMs) {
        return startMs + millis - 1;
    }
}
