package io.csr.job.config;

import io.csr.common.config.ConfigKey;
import io.csr.common.contract.EventSubjects;
import io.csr.common.config.CsrConfig;

import java.io.Serializable;
import java.time.Duration;
import java.util.Map;

/**
 * The job's settings, read once from {@link CsrConfig} in main() and handed to every operator (Serializable).
 * Defaults are ConfigKey's ({@link #defaults()} reads them there); keys are documented in ConfigKey (job section).
 *
 * @param updateIntervalMs       early firing interval of open windows (UPDATE_INTERVAL_MS)
 * @param coarseUpdateIntervalMs early firing interval of open 1-hour and 1-day windows (COARSE_UPDATE_INTERVAL_MS)
 * @param allowedLatenessMs      allowed lateness after a window closes (ALLOWED_LATENESS_MS)
 * @param outOfOrdernessMs       bounded out-of-orderness of each (company, metric) event-time clock
 *                               (WATERMARK_OUT_OF_ORDERNESS_MS)
 * @param idleMs                 a (company, metric) silent for this long of stream time lets its event-time clock run
 *                               on (EVENT_TIME_IDLE_MS)
 * @param dedupTtlMs             dedup horizon for eventIds, at least 24 h (DEDUP_TTL_HOURS)
 * @param redisUrl               Redis URL of the live-update streams (REDIS_URL)
 * @param redisKeyPrefix         prefix of every Redis key the job writes (REDIS_KEY_PREFIX)
 * @param redisFailoverWaitMs    how long the Redis writers keep retrying through a failover before the job fails
 *                               (REDIS_FAILOVER_WAIT_MS)
 * @param redisRetentionHours    age bound of each company's update stream (REDIS_STREAM_RETENTION_HOURS)
 * @param redisStreamMaxLen      count bound of each company's update stream, 0 = none (REDIS_STREAM_MAXLEN)
 */
public record JobOptions(long updateIntervalMs, long coarseUpdateIntervalMs, long allowedLatenessMs, long outOfOrdernessMs,
                         long idleMs, long dedupTtlMs, String redisUrl, String redisKeyPrefix, long redisFailoverWaitMs,
                         long redisRetentionHours, long redisStreamMaxLen, int natsPartitions) implements Serializable {

    public Duration redisRetention() {
        return Duration.ofHours(redisRetentionHours);
    }

    /** Every key at its ConfigKey default: the defaults are written once, in ConfigKey. */
    public static JobOptions defaults() {
        return from(CsrConfig.of(Map.of()));
    }

    /** Each read validates its key and names it on error. */
    public static JobOptions from(CsrConfig config) {
        return new JobOptions(
                config.getLong(ConfigKey.UPDATE_INTERVAL_MS, 1, 3_600_000L),
                config.getLong(ConfigKey.COARSE_UPDATE_INTERVAL_MS, 1, 3_600_000L),
                config.getLong(ConfigKey.ALLOWED_LATENESS_MS, 0, 7 * 24 * 3_600_000L),
                config.getLong(ConfigKey.WATERMARK_OUT_OF_ORDERNESS_MS, 0, 24 * 3_600_000L),
                config.getLong(ConfigKey.EVENT_TIME_IDLE_MS, 1, 24 * 3_600_000L),
                config.getLong(ConfigKey.DEDUP_TTL_HOURS, 24, 24 * 365) * 3_600_000L,
                config.get(ConfigKey.REDIS_URL),
                config.get(ConfigKey.REDIS_KEY_PREFIX),
                config.getLong(ConfigKey.REDIS_FAILOVER_WAIT_MS, 0, 3_600_000L),
                config.getLong(ConfigKey.REDIS_STREAM_RETENTION_HOURS, 1, 24 * 365),
                config.getLong(ConfigKey.REDIS_STREAM_MAXLEN, 0, Long.MAX_VALUE),
                (int) config.getLong(ConfigKey.NATS_PARTITIONS, 1, EventSubjects.MAX_PARTITIONS));
    }
}
