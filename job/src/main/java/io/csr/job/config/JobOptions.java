package io.csr.job.config;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.io.Serializable;

/**
 * The job's settings, read once from {@link CsrConfig} in main() and handed to every operator (Serializable).
 * Defaults live in {@link #defaults()}; keys are documented in ConfigKey (job section).
 */
public final class JobOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Early firing interval of open windows (UPDATE_INTERVAL_MS). */
    public long updateIntervalMs = 20;
    /** Early firing interval of open 1-hour and 1-day windows (COARSE_UPDATE_INTERVAL_MS). */
    public long coarseUpdateIntervalMs = 1000;
    /** Allowed lateness after a window closes (ALLOWED_LATENESS_MS). */
    public long allowedLatenessMs = 10 * 60_000L;
    /** Bounded out-of-orderness of each (company, metric) event-time clock. */
    public long outOfOrdernessMs = 5_000;
    /** A (company, metric) silent for this long of processing time lets its event-time clock run on with the wall clock. */
    public long idleMs = 60_000;
    /** Dedup horizon for eventIds (at least 24 h). */
    public long dedupTtlMs = 24 * 3_600_000L;
    /** Redis URL of the live-update streams (REDIS_URL). */
    public String redisUrl = "redis://127.0.0.1:6379";
    /** Prefix of every Redis key the job writes (REDIS_KEY_PREFIX). */
    public String redisKeyPrefix = "csr:";

    public static JobOptions defaults() {
        return new JobOptions();
    }

    public static JobOptions from(CsrConfig config) {
        JobOptions o = defaults();
        // Keys are added here as the job grows; each read validates and names the key on error.
        o.updateIntervalMs = config.getLong(ConfigKey.UPDATE_INTERVAL_MS, 1, 3_600_000L);
        o.coarseUpdateIntervalMs = config.getLong(ConfigKey.COARSE_UPDATE_INTERVAL_MS, 1, 3_600_000L);
        o.allowedLatenessMs = config.getLong(ConfigKey.ALLOWED_LATENESS_MS, 0, 7 * 24 * 3_600_000L);
        o.outOfOrdernessMs = config.getLong(ConfigKey.WATERMARK_OUT_OF_ORDERNESS_MS, 0, 24 * 3_600_000L);
        o.idleMs = config.getLong(ConfigKey.EVENT_TIME_IDLE_MS, 1, 24 * 3_600_000L);
        o.dedupTtlMs = config.getLong(ConfigKey.DEDUP_TTL_HOURS, 24, 24 * 365) * 3_600_000L;
        o.redisUrl = config.get(ConfigKey.REDIS_URL);
        o.redisKeyPrefix = config.get(ConfigKey.REDIS_KEY_PREFIX);
        return o;
    }
}
