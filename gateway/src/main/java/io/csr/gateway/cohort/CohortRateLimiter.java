package io.csr.gateway.cohort;

import io.csr.gateway.http.ApiError;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-company token bucket of the cohort API: {@code COHORT_RATE_LIMIT_PER_MINUTE} requests, refilled continuously,
 * burst up to the same number. Over the limit: 429 {@code rate_limited} with {@code Retry-After} = whole seconds until
 * the next request is allowed. One bucket per company that called (companies come only from verified tokens).
 */
public final class CohortRateLimiter {
    private final int perMinute;
    private final Clock clock;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    public CohortRateLimiter(int perMinute, Clock clock) {
        if (perMinute < 1) {
            throw new IllegalArgumentException("COHORT_RATE_LIMIT_PER_MINUTE must be at least 1, got " + perMinute);
        }
        this.perMinute = perMinute;
        this.clock = clock;
    }

    /** Takes one request of the company's budget or throws the 429. */
    void acquire(String companyId) {
        long waitMillis = buckets.computeIfAbsent(companyId, c -> new Bucket(perMinute, clock.millis())).take(perMinute, clock.millis());
        if (waitMillis > 0) {
            int seconds = (int) Math.max(1, (waitMillis + 999) / 1000);
            throw new ApiError(429, "rate_limited", "company " + companyId + " made more than " + perMinute
                    + " cohort API requests in a minute (COHORT_RATE_LIMIT_PER_MINUTE); retry after " + seconds + " s", seconds);
        }
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
