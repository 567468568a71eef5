package io.csr.job.redis;

import io.csr.common.config.CsrConfig;
import io.csr.job.config.JobOptions;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RedisUpdateSinkBuilderTest {
    @Test
    void takesUrlAndPrefixFromJobOptions() {
        JobOptions options = JobOptions.from(CsrConfig.of(Map.of("REDIS_URL", "redis://cache:6380/2", "REDIS_KEY_PREFIX", "x:")));
        RedisUpdateSink sink = RedisUpdateSink.builder().options(options).build();
        assertThat(sink.redisUrl).isEqualTo("redis://cache:6380/2");
        assertThat(sink.keyPrefix).isEqualTo("x:");
    }

    @Test
    void rejectsBadSettingsNamingThem() {
        assertThatThrownBy(() -> RedisUpdateSink.builder().redisUrl("http://x").build()).hasMessageContaining("REDIS_URL");
        assertThatThrownBy(() -> RedisUpdateSink.builder().redisUrl(" ").build()).hasMessageContaining("REDIS_URL is empty");
        assertThatThrownBy(() -> RedisUpdateSink.builder().maxBatchSize(0).build()).hasMessageContaining("maxBatchSize");
        assertThatThrownBy(() -> RedisUpdateSink.builder().maxAttempts(0).build()).hasMessageContaining("maxAttempts");
    }

    @Test
    void passwordsNeverAppearInMessages() {
        assertThat(RedisUpdateSinkBuilder.redacted("redis://user:secret@host:6379/0")).isEqualTo("redis://user:***@host:6379/0");
        assertThat(RedisUpdateSink.builder().redisUrl("redis://:secret@host:6379").build().toString()).doesNotContain("secret");
    }
}
