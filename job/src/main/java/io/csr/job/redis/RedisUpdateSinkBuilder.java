package io.csr.job.redis;

import io.csr.common.redis.RedisEndpoint;
import io.csr.job.config.JobOptions;

import java.time.Duration;

/** Builds a {@link RedisUpdateSink}; every setting is validated once, in {@link #build()}. */
public final class RedisUpdateSinkBuilder {
    String redisUrl = "redis://127.0.0.1:6379";
    String keyPrefix = "csr:";
    int maxBatchSize = 500;
    long flushIntervalMs = 5;
    int maxAttempts = 6;
    long initialBackoffMs = 100;
    int timeoutMs = 5_000;
    Duration retention = io.csr.common.contract.RedisStreams.RETENTION;
    long maxLen = 0;
    long failoverWaitMs = 30_000;

    RedisUpdateSinkBuilder() {
    }

    /** REDIS_URL, REDIS_KEY_PREFIX, the stream bounds and REDIS_FAILOVER_WAIT_MS as read once by the job. */
    public RedisUpdateSinkBuilder options(JobOptions options) {
        return redisUrl(options.redisUrl()).keyPrefix(options.redisKeyPrefix()).retention(options.redisRetention())
                .maxLen(options.redisStreamMaxLen()).failoverWaitMs(options.redisFailoverWaitMs());
    }

    /** Any REDIS_URL form of {@link RedisEndpoint}: one Redis, a Redis Cluster or a Sentinel-managed master. */
    public RedisUpdateSinkBuilder redisUrl(String redisUrl) {
        this.redisUrl = redisUrl;
        return this;
    }

    public RedisUpdateSinkBuilder keyPrefix(String keyPrefix) {
        this.keyPrefix = keyPrefix;
        return this;
    }

    /** A batch is pipelined to Redis as soon as it has this many updates. */
    public RedisUpdateSinkBuilder maxBatchSize(int maxBatchSize) {
        this.maxBatchSize = maxBatchSize;
        return this;
    }

    /** A non-empty batch waits at most this long (processing time) before it is sent. */
    public RedisUpdateSinkBuilder flushIntervalMs(long flushIntervalMs) {
        this.flushIntervalMs = flushIntervalMs;
        return this;
    }

    /** At most this many entries per company stream (XTRIM MAXLEN ~ after each batch); 0 = bounded by age only. */
    public RedisUpdateSinkBuilder maxLen(long maxLen) {
        this.maxLen = maxLen;
        return this;
    }

    /**
     * A failed batch is retried (on a new client, with doubling backoff) until both {@link #maxAttempts} attempts were
     * made and this long has passed since the first failure — time for a Redis Cluster or Sentinel failover to elect a
     * new master — and only then does the writer throw (and the job restart).
     */
    public RedisUpdateSinkBuilder failoverWaitMs(long failoverWaitMs) {
        this.failoverWaitMs = failoverWaitMs;
        return this;
    }

    /** Attempts per batch (reconnecting in between, with doubling backoff) before the job fails; see {@link #failoverWaitMs}. */
    public RedisUpdateSinkBuilder maxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
        return this;
    }

    public RedisUpdateSinkBuilder initialBackoffMs(long initialBackoffMs) {
        this.initialBackoffMs = initialBackoffMs;
        return this;
    }

    /** Connect and socket timeout of the Redis connection. */
    public RedisUpdateSinkBuilder timeoutMs(int timeoutMs) {
        this.timeoutMs = timeoutMs;
        return this;
    }

    /** Entries older than this are trimmed (MINID ~) on every write; Contract 3 keeps 24 h. */
    public RedisUpdateSinkBuilder retention(Duration retention) {
        this.retention = retention;
        return this;
    }

    public RedisUpdateSink build() {
        RedisEndpoint.parse(redisUrl); // names the accepted forms when the URL is none of them
        if (keyPrefix == null) {
            throw new IllegalArgumentException("REDIS_KEY_PREFIX must not be null (use \"\" for none)");
        }
        require(maxBatchSize >= 1, "maxBatchSize must be at least 1 but is " + maxBatchSize);
        require(flushIntervalMs >= 0, "flushIntervalMs must not be negative but is " + flushIntervalMs);
        require(maxAttempts >= 1, "maxAttempts must be at least 1 but is " + maxAttempts);
        require(initialBackoffMs >= 0, "initialBackoffMs must not be negative but is " + initialBackoffMs);
        require(timeoutMs >= 1, "timeoutMs must be positive but is " + timeoutMs);
        require(maxLen >= 0, "maxLen must not be negative but is " + maxLen);
        require(failoverWaitMs >= 0, "failoverWaitMs must not be negative but is " + failoverWaitMs);
        require(retention != null && !retention.isNegative() && !retention.isZero(), "retention must be positive but is " + retention);
        return new RedisUpdateSink(this);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The URL without its password, for messages and logs. */
    static String redacted(String url) {
        return RedisEndpoint.redact(url);
    }
}
