package io.csr.job.correction;

import io.csr.common.contract.RedisStreams;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.model.RedisUpdate;
import io.csr.common.redis.RedisEndpoint;
import io.csr.job.config.JobOptions;
import io.csr.job.redis.UpdateStreams;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Publishes corrected windows to the companies' Redis update streams (Contract 3) through the same
 * {@link UpdateStreams#append} as the live operator's firings. A failure after a few attempts, and after
 * REDIS_FAILOVER_WAIT_MS (a failover electing a new master), fails the commit, so the job restarts and the
 * (idempotent) correction runs again.
 */
public final class CorrectionPublisher implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int ATTEMPTS = 3;

    /** Publishes nothing (tests, backfills that should not notify dashboards). */
    public static final CorrectionPublisher NONE = new CorrectionPublisher(null, "", Duration.ZERO, 0, 0);

    private final String redisUrl;
    private final String keyPrefix;
    private final Duration retention;
    private final long maxLen;
    private final long failoverWaitMs;

    public CorrectionPublisher(String redisUrl, String keyPrefix, Duration retention, long maxLen, long failoverWaitMs) {
        this.redisUrl = redisUrl;
        this.keyPrefix = keyPrefix;
        this.retention = retention;
        this.maxLen = maxLen;
        this.failoverWaitMs = failoverWaitMs;
    }

    /** Contract 3's defaults: 24 h, no count bound, 30 s for a failover. */
    public static CorrectionPublisher redis(String redisUrl, String keyPrefix) {
        return new CorrectionPublisher(redisUrl, keyPrefix, RedisStreams.RETENTION, 0, 30_000);
    }

    /** REDIS_URL, REDIS_KEY_PREFIX, the stream bounds and REDIS_FAILOVER_WAIT_MS as the job read them. */
    public static CorrectionPublisher redis(JobOptions options) {
        return new CorrectionPublisher(options.redisUrl(), options.redisKeyPrefix(), options.redisRetention(),
                options.redisStreamMaxLen(), options.redisFailoverWaitMs());
    }

    Channel open() {
        return new Channel();
    }

    /** The runtime part: one lazily opened connection per committer. */
    final class Channel implements AutoCloseable {
        private UnifiedJedis jedis;
        private UpdateStreams streams;

        void publish(List<WindowFiring> windows) throws IOException, InterruptedException {
            if (redisUrl == null || windows.isEmpty()) {
                return;
            }
            long firstFailure = 0;
            for (int attempt = 1; ; attempt++) {
                try {
                    send(windows);
                    return;
                } catch (JedisException e) {
                    close();
                    long now = System.nanoTime();
                    if (attempt == 1) {
                        firstFailure = now;
                    }
                    if (attempt >= ATTEMPTS && (now - firstFailure) / 1_000_000L >= failoverWaitMs) {
                        throw new IOException("publishing " + windows.size() + " corrected windows to Redis failed "
                                + attempt + " times (" + e.getMessage() + "); check that Redis is up — the commit is "
                                + "retried when the job restarts", e);
                    }
                    Thread.sleep(Math.min(200L * attempt, 2_000L));
                }
            }
        }

        private void send(List<WindowFiring> windows) {
            if (jedis == null) {
                jedis = RedisEndpoint.parse(redisUrl).open("csr-job-corrections", 5_000, 2);
            }
            if (streams == null) {
                streams = new UpdateStreams(keyPrefix, retention, maxLen);
            }
            List<RedisUpdate> updates = new ArrayList<>(windows.size());
            for (WindowFiring w : windows) {
                updates.add(w.toRedisUpdate());
            }
            streams.append(jedis, updates, System.currentTimeMillis());
        }

        @Override
        public void close() {
            if (jedis != null) {
                try {
                    jedis.close();
                } catch (RuntimeException e) {
                    // a broken connection: nothing to keep
                }
                jedis = null;
            }
        }
    }
}
