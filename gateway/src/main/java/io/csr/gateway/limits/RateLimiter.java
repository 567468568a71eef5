package io.csr.gateway.limits;

import io.csr.gateway.http.ApiError;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Per-company token bucket of a group of endpoints: {@code perMinute} requests, refilled continuously, burst up to the
 * same number. Over the limit: 429 {@code rate_limited} with {@code Retry-After} = whole seconds until the next request
 * is allowed. One bucket per company that called (companies come only from verified tokens, one per request: the
 * company the request acts for). Callers charge it before any database work, so a caller over its limit costs no
 * query — not even the lookup that would answer 404.
 *
 * <p>With Redis ({@link #clusterWide}) the bucket is one Redis hash per company shared by every gateway node
 * ({@code redis/token_bucket.lua}, on Redis's clock), so the limit holds for the company whichever node its calls hit:
 * N nodes let through {@code perMinute}, not N times it. Should Redis fail, each node falls back to a bucket of its own
 * (logged): the API stays up and the limit becomes per node until Redis answers again.
 */
public final class RateLimiter {
    private static final Logger LOG = Logger.getLogger(RateLimiter.class.getName());
    private static final RedisScript TOKEN_BUCKET = RedisScript.load("token_bucket");

    private final String what;
    private final String key;
    private final int perMinute;
    private final Clock clock;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final UnifiedJedis redis; // null: this node's buckets only
    private final String redisKeyPrefix;
    private final AtomicLong redisFailures = new AtomicLong();

    /**
     * A limiter of this node only (tests, and what a cluster-wide one falls back to).
     *
     * @param what      the endpoints it limits, for messages ("cohort API")
     * @param key       the configuration key of the limit, for messages
     */
    public RateLimiter(String what, String key, int perMinute, Clock clock) {
        this(what, key, perMinute, clock, null, null);
    }

    private RateLimiter(String what, String key, int perMinute, Clock clock, UnifiedJedis redis, String redisKeyPrefix) {
        if (perMinute < 1) {
            throw new IllegalArgumentException(key + " must be at least 1, got " + perMinute);
        }
        this.what = what;
        this.key = key;
        this.perMinute = perMinute;
        this.clock = clock;
        this.redis = redis;
        this.redisKeyPrefix = redisKeyPrefix;
    }

    /**
     * A limiter whose buckets live in Redis under {@code <keyPrefix>ratelimit:<group>:{<companyId>}}, shared by every
     * node with the same prefix.
     *
     * @param group short name of the endpoint group in the key ("cohort", "api")
     */
    public static RateLimiter clusterWide(String what, String key, int perMinute, Clock clock, UnifiedJedis redis, String keyPrefix, String group) {
        return new RateLimiter(what, key, perMinute, clock, redis, keyPrefix + "ratelimit:" + group + ":");
    }

    /** Takes one request of the company's budget or throws the 429. */
    public void acquire(String companyId) {
        boolean acrossNodes = redis != null;
        long waitMillis;
        if (acrossNodes) {
            try {
                waitMillis = (Long) TOKEN_BUCKET.run(redis, redisKey(companyId), List.of(Integer.toString(perMinute)));
            } catch (JedisException e) {
                if (redisFailures.incrementAndGet() % 1_000 == 1) {
                    LOG.warning(key + ": Redis did not answer (" + e.getMessage() + "); limiting " + what
                            + " per node until it does (" + redisFailures.get() + " calls so far)");
                }
                acrossNodes = false;
                waitMillis = local(companyId);
            }
        } else {
            waitMillis = local(companyId);
        }
        if (waitMillis > 0) {
            int seconds = (int) Math.max(1, (waitMillis + 999) / 1000);
            throw new ApiError(429, "rate_limited", "company " + companyId + " made more than " + perMinute
                    + " " + what + " requests in a minute (" + key + (acrossNodes ? ", counted across all gateway nodes" : "")
                    + "); retry after " + seconds + " s", seconds);
        }
    }

    /** The Redis key of a company's bucket; the braces make it one Redis Cluster slot per company. */
    String redisKey(String companyId) {
        return redisKeyPrefix + "{" + companyId + "}";
    }

    private long local(String companyId) {
        return buckets.computeIfAbsent(companyId, c -> new Bucket(perMinute, clock.millis())).take(perMinute, clock.millis());
    }

    private static final class Bucket {
        private double tokens;
        private long lastMillis;

        Bucket(int capacity, long now) {
            this.tokens = capacity;
            this.lastMillis = now;
        }

        /** 0 when a token was taken, else the milliseconds until one is available. */
        synchronized long take(int perMinute, long now) {
            if (now > lastMillis) {
                tokens = Math.min(perMinute, tokens + (now - lastMillis) * perMinute / 60_000.0);
                lastMillis = now;
            }
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) * 60_000.0 / perMinute);
        }
    }
}
