package io.csr.gateway.limits;

import io.csr.gateway.http.ApiError;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RateLimiterTest {
    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-11-29T12:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aBurstOfTheLimitThen429WithTheSecondsUntilTheNextTokenThenRefill() {
        ManualClock clock = new ManualClock();
        RateLimiter limiter = new RateLimiter("cohort API", "COHORT_RATE_LIMIT_PER_MINUTE", 6, clock); // one token every 10 s
        for (int i = 0; i < 6; i++) {
            limiter.acquire("a");
        }
        assertThatThrownBy(() -> limiter.acquire("a")).isInstanceOfSatisfying(ApiError.class, e -> {
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isEqualTo(10);
            assertThat(e.getMessage()).contains("6 cohort API requests", "COHORT_RATE_LIMIT_PER_MINUTE");
        });
        assertThatCode(() -> limiter.acquire("b")).as("another company has its own bucket").doesNotThrowAnyException();
        clock.now = clock.now.plus(Duration.ofSeconds(4));
        assertThatThrownBy(() -> limiter.acquire("a")).isInstanceOfSatisfying(ApiError.class,
                e -> assertThat(e.retryAfterSeconds()).isEqualTo(6));
        clock.now = clock.now.plus(Duration.ofSeconds(6));
        assertThatCode(() -> limiter.acquire("a")).doesNotThrowAnyException();
        clock.now = clock.now.plus(Duration.ofHours(1));
        for (int i = 0; i < 6; i++) {
            limiter.acquire("a"); // refilled to the burst size, not beyond
        }
        assertThatThrownBy(() -> limiter.acquire("a")).isInstanceOf(ApiError.class);
    }

    @Test
    void aClusterWideLimiterWhoseRedisDoesNotAnswerLimitsPerNodeInstead() {
        ManualClock clock = new ManualClock();
        // nothing listens on port 1: every Redis call fails at once
        try (redis.clients.jedis.UnifiedJedis nowhere = io.csr.common.redis.RedisEndpoint.parse("redis://127.0.0.1:1").open("test", 500, 2)) {
            RateLimiter limiter = RateLimiter.clusterWide("cohort API", "COHORT_RATE_LIMIT_PER_MINUTE", 3, clock, nowhere, "t:", "cohort");
            for (int i = 0; i < 3; i++) {
                limiter.acquire("a");
            }
            assertThatThrownBy(() -> limiter.acquire("a")).as("the node's own bucket still limits").isInstanceOfSatisfying(ApiError.class, e -> {
                assertThat(e.status()).isEqualTo(429);
                assertThat(e.getMessage()).as("it does not claim a cluster-wide count it could not make").doesNotContain("across");
            });
        }
    }
}
