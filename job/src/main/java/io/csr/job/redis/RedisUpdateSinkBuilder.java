package io.csr.job.redis;

import io.csr.job.config.JobOptions;

import java.net.URI;
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

    RedisUpdateSinkBuilder() {
    }

    /** REDIS_URL and REDIS_KEY_PREFIX as read once by the job. */
    public RedisUpdateSinkBuilder options(JobOptions options) {
        return redisUrl(options.redisUrl).keyPrefix(options.redisKeyPrefix);
    }

    /** {@code redis://[user:pass@]host:port[/db]} (or rediss:// for TLS). */
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

    /** Attempts per batch (reconnecting in between, with doubling backoff) before the job fails. */
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
        if (redisUrl == null || redisUrl.isBlank()) {
            throw new IllegalArgumentException("REDIS_URL is empty; set it to e.g. redis://127.0.0.1:6379");
        }
        URI uri;
        try {
            uri = URI.create(redisUrl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("REDIS_URL '" + redacted(redisUrl) + "' is not a URL; use redis://host:port[/db]", e);
        }
        if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("REDIS_URL '" + redacted(redisUrl) + "' must look like redis://host:port[/db]");
        }
        if (keyPrefix == null) {
            throw new IllegalArgumentException("REDIS_KEY_PREFIX must not be null (use \"\" for none)");
        }
        require(maxBatchSize >= 1, "maxBatchSize must be at least 1 but is " + maxBatchSize);
        require(flushIntervalMs >= 0, "flushIntervalMs must not be negative but is " + flushIntervalMs);
        require(maxAttempts >= 1, "maxAttempts must be at least 1 but is " + maxAttempts);
        require(initialBackoffMs >= 0, "initialBackoffMs must not be negative but is " + initialBackoffMs);
        require(timeoutMs >= 1, "timeoutMs must be positive but is " + timeoutMs);
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
        return url == null ? "null" : url.replaceAll("//([^:@/]*):[^@/]*@", "//$1:***@");
    }
}
