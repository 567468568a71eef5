package io.csr.job.redis;

import io.csr.job.model.RedisUpdate;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Pipelines updates to Redis at most once per {@code flushIntervalMs}, leading edge: an update that finds nothing
 * published for that long goes at once (a dashboard waiting on a quiet key should not also wait for a timer); later
 * ones are buffered and sent as one batch at the end of the interval (a processing-time timer, run in the task's
 * mailbox thread like write()), when the batch is full, and on flush() (checkpoint, end of input). A failed batch is retried on a fresh connection with doubling backoff;
 * after the last attempt the writer throws, the job fails and restarts from its checkpoint (replayed updates are
 * harmless: absolute values with versions).
 */
final class RedisUpdateWriter implements SinkWriter<RedisUpdate> {
    private static final Logger LOG = LoggerFactory.getLogger(RedisUpdateWriter.class);

    private final RedisUpdateSink config;
    private final ProcessingTimeService time;
    private final String clientName;
    private final List<RedisUpdate> buffer = new ArrayList<>();
    private final Counter published;
    private final Counter retries;
    private Jedis jedis;
    private boolean flushScheduled;
    private long lastPublishAt = Long.MIN_VALUE;
    private boolean closed;

    RedisUpdateWriter(RedisUpdateSink config, ProcessingTimeService time, MetricGroup metrics, int subtask) {
        this.config = config;
        this.time = time;
        this.clientName = "csr-job-updates-" + config.keyPrefix.replaceAll("[^A-Za-z0-9_-]", "") + "-" + subtask;
        this.published = metrics.counter("redisUpdatesPublished");
        this.retries = metrics.counter("redisRetries");
    }

    @Override
    public void write(RedisUpdate update, Context context) throws IOException, InterruptedException {
        buffer.add(update);
        if (buffer.size() >= config.maxBatchSize) {
            publish();
        } else if (!flushScheduled) {
            long now = time.getCurrentProcessingTime();
            if (lastPublishAt == Long.MIN_VALUE || now - lastPublishAt >= config.flushIntervalMs) {
                publish();
                return;
            }
            flushScheduled = true;
            time.registerTimer(lastPublishAt + config.flushIntervalMs, at -> {
                flushScheduled = false;
                if (!closed) {
                    publish();
                }
            });
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        publish();
    }

    /** Sends the buffer as one pipeline; retries on a new connection; throws once attempts are used up. */
    void publish() throws IOException, InterruptedException {
        if (buffer.isEmpty()) {
            return;
        }
        long backoff = config.initialBackoffMs;
        for (int attempt = 1; ; attempt++) {
            try {
                send();
                lastPublishAt = time.getCurrentProcessingTime();
                published.inc(buffer.size());
                buffer.clear();
                return;
            } catch (JedisException e) {
                disconnect();
                if (attempt >= config.maxAttempts) {
                    throw new IOException("publishing " + buffer.size() + " live updates to Redis at "
                            + RedisUpdateSinkBuilder.redacted(config.redisUrl) + " failed " + attempt
                            + " times (last: " + e.getMessage() + "); check that Redis is up and REDIS_URL is right — "
                            + "the job restarts from its last checkpoint and publishes again", e);
                }
                retries.inc();
                LOG.warn("Redis publish attempt {}/{} failed ({}); reconnecting in {} ms",
                        attempt, config.maxAttempts, e.getMessage(), backoff);
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, 10_000L);
            }
        }
    }

    private void send() {
        if (jedis == null) {
            jedis = new Jedis(URI.create(config.redisUrl), DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis(config.timeoutMs)
                    .socketTimeoutMillis(config.timeoutMs)
                    .clientName(clientName)
                    .build());
        }
        UpdateStreams.append(jedis.pipelined(), config.keyPrefix, buffer, time.getCurrentProcessingTime(), config.retention);
    }

    private void disconnect() {
        if (jedis != null) {
            try {
                jedis.close();
            } catch (RuntimeException e) {
                LOG.debug("closing a broken Redis connection failed", e);
            }
            jedis = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        disconnect();
    }
}
