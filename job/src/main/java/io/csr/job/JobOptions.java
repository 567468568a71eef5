package io.csr.job;

import io.csr.common.config.CsrConfig;

import java.io.Serializable;

/**
 * The job's settings, read once from {@link CsrConfig} in main() and handed to every operator (Serializable).
 * Defaults live in {@link #defaults()}; keys are documented in ConfigKey (job section).
 */
public final class JobOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Early firing interval of open windows (UPDATE_INTERVAL_MS). */
    public long updateIntervalMs = 250;
    /** Allowed lateness after a window closes (ALLOWED_LATENESS_MS). */
    public long allowedLatenessMs = 10 * 60_000L;
    /** Bounded out-of-orderness of the watermark strategy. */
    public long outOfOrdernessMs = 5_000;
    /** A source split without events for this long stops holding the watermark back. */
    public long idlenessMs = 30_000;
    /** Dedup horizon for eventIds (at least 24 h). */
    public long dedupTtlMs = 24 * 3_600_000L;

    public static JobOptions defaults() {
        return new JobOptions();
    }

    public static JobOptions from(CsrConfig config) {
        JobOptions o = defaults();
        // Keys are added here as the job grows; each read validates and names the key on error.
        return o;
    }
}
