package io.csr.job.redis;

import io.csr.job.model.RedisUpdate;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.csr.common.redis.RedisEndpoint;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Pipelines updates to Redis at most once per {@code flushIntervalMs}, leading edge: an update that finds nothing
 * published for that long goes at once (a dashboard waiting on a quiet key should not also wait for a timer); later
 * ones are buffered and sent as one batch at the end of the interval (a processing-time timer, run in the task's
 * mailbox thread like write()), when the batch is full, and on flush() (checkpoint, end of input). A failed batch is
 * retried on a fresh client with doubling backoff for at least {@code maxAttempts} attempts and {@code failoverWaitMs}
 * (REDIS_FAILOVER_WAIT_MS): a Redis Cluster or Sentinel failover takes seconds, and waiting for the new master here
 * (the task is backpressured meanwhile) is cheaper than a job restart, which stalls the ClickHouse commits with it.
 * Past both bounds the writer throws, the job fails and restarts from its checkpoint (replayed updates are harmless:
 * absolute values with versions; so is a batch sent twice because its reply was lost).
 */
final class RedisUpdateWriter implements SinkWriter<RedisUpdate> {
    private static final Logger LOG = LoggerFactory.getLogger(RedisUpdateWriter.class);

    private final RedisUpdateSink config;
    private final ProcessingTimeService time;
    private final String clientName;
    private final List<RedisUpdate> buffer = new ArrayList<>();
    private final Counter published;
    private final Counter retries;
    private final RedisEndpoint endpoint;
    private final UpdateStreams streams;
    private UnifiedJedis jedis;
    private boolean flushScheduled;
    private long lastPublishAt = Long.MIN_VALUE;
    private boolean closed;

    RedisUpdateWriter(RedisUpdateSink config, ProcessingTimeService time, MetricGroup metrics, int subtask) {
        this.config = config;
        this.time = time;
        this.clientName = "csr-job-updates-" + config.keyPrefix.replaceAll("[^A-Za-z0-9_-]", "") + "-" + subtask;
        this.published = metrics.counter("redisUpdatesPublished");
        this.retries = metrics.counter("redisRetries");
        this.endpoint = RedisEndpoint.parse(config.redisUrl);
        this.streams = new UpdateStreams(config.keyPrefix, config.retention, config.maxLen);
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
        long firstFailure = 0;
        for (int attempt = 1; ; attempt++) {
            try {
                send();
                lastPublishAt = time.getCurrentProcessingTime();
                published.inc(buffer.size());
                buffer.clear();
                return;
            } catch (JedisException e) {
                disconnect();
                long now = System.nanoTime();
                if (attempt == 1) {
                    firstFailure = now;
                }
                long waitedMs = (now - firstFailure) / 1_000_000L;
                if (attempt >= config.maxAttempts && waitedMs >= config.failoverWaitMs) {
                    throw new IOException("publishing " + buffer.size() + " live updates to Redis at "
                            + endpoint.redacted() + " failed " + attempt + " times over " + waitedMs
                            + " ms (last: " + e.getMessage() + "); check that Redis is up and REDIS_URL is right "
                            + "(REDIS_FAILOVER_WAIT_MS=" + config.failoverWaitMs + " ms is how long a failover may take) — "
                            + "the job restarts from its last checkpoint and publishes again", e);
                }
                retries.inc();
                LOG.warn("Redis publish attempt {} failed after {} ms of at least {} attempts and {} ms ({}); reconnecting in {} ms",
                        attempt, waitedMs, config.maxAttempts, config.failoverWaitMs, e.getMessage(), backoff);
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, 2_000L);
            }
        }
    }

    private void send() {
        if (jedis == null) {
            jedis = endpoint.open(clientName, config.timeoutMs, 2);
        }
        streams.append(jedis, buffer, time.getCurrentProcessingTime());
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
