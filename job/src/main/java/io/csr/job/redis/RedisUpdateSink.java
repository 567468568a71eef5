package io.csr.job.redis;

import io.csr.job.model.RedisUpdate;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

import java.time.Duration;

/**
 * Publishes Contract 3 updates to each company's Redis stream ({@code XADD <prefix>updates:{<company>} MINID ~ now-24h *
 * type … data …}) on one Redis, a Redis Cluster or a Sentinel-managed master (REDIS_URL). At-least-once without a committer: publish latency never waits for a checkpoint, and a replay after
 * a restart is harmless because updates carry absolute values and versions. Immutable; build with {@link #builder()}.
 */
public final class RedisUpdateSink implements Sink<RedisUpdate> {
    private static final long serialVersionUID = 1L;

    final String redisUrl;
    final String keyPrefix;
    final int maxBatchSize;
    final long flushIntervalMs;
    final int maxAttempts;
    final long initialBackoffMs;
    final int timeoutMs;
    final Duration retention;
    final long maxLen;
    final long failoverWaitMs;

    RedisUpdateSink(RedisUpdateSinkBuilder b) {
        this.redisUrl = b.redisUrl;
        this.keyPrefix = b.keyPrefix;
        this.maxBatchSize = b.maxBatchSize;
        this.flushIntervalMs = b.flushIntervalMs;
        this.maxAttempts = b.maxAttempts;
        this.initialBackoffMs = b.initialBackoffMs;
        this.timeoutMs = b.timeoutMs;
        this.retention = b.retention;
        this.maxLen = b.maxLen;
        this.failoverWaitMs = b.failoverWaitMs;
    }

    public static RedisUpdateSinkBuilder builder() {
        return new RedisUpdateSinkBuilder();
    }

    @Override
    @Deprecated
    public SinkWriter<RedisUpdate> createWriter(InitContext context) {
        return new RedisUpdateWriter(this, context.getProcessingTimeService(), context.metricGroup(),
                context.getTaskInfo().getIndexOfThisSubtask());
    }

    @Override
    public SinkWriter<RedisUpdate> createWriter(WriterInitContext context) {
        return new RedisUpdateWriter(this, context.getProcessingTimeService(), context.metricGroup(),
                context.getTaskInfo().getIndexOfThisSubtask());
    }

    @Override
    public String toString() {
        return "RedisUpdateSink{" + io.csr.common.redis.RedisEndpoint.redact(redisUrl) + ", prefix '" + keyPrefix + "'}";
    }
}
