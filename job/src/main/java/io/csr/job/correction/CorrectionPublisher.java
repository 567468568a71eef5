package io.csr.job.correction;

import io.csr.common.contract.RedisStreams;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.model.RedisUpdate;
import io.csr.job.redis.UpdateStreams;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Publishes corrected windows to the companies' Redis update streams (Contract 3) through the same
 * {@link UpdateStreams#append} as the live operator's firings. A failure after a few attempts fails the commit, so the
 * job restarts and the (idempotent) correction runs again.
 */
public final class CorrectionPublisher implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int ATTEMPTS = 3;

    /** Publishes nothing (tests, backfills that should not notify dashboards). */
    public static final CorrectionPublisher NONE = new CorrectionPublisher(null, "", Duration.ZERO);

    private final String redisUrl;
    private final String keyPrefix;
    private final Duration retention;

    public CorrectionPublisher(String redisUrl, String keyPrefix, Duration retention) {
        this.redisUrl = redisUrl;
        this.keyPrefix = keyPrefix;
        this.retention = retention;
    }

    public static CorrectionPublisher redis(String redisUrl, String keyPrefix) {
        return new CorrectionPublisher(redisUrl, keyPrefix, RedisStreams.RETENTION);
    }

    Channel open() {
        return new Channel();
    }

    /** The runtime part: one lazily opened connection per committer. */
    final class Channel implements AutoCloseable {
        private Jedis jedis;

        void publish(List<WindowFiring> windows) throws IOException, InterruptedException {
            if (redisUrl == null || windows.isEmpty()) {
                return;
            }
            for (int attempt = 1; ; attempt++) {
                try {
                    send(windows);
                    return;
                } catch (JedisException e) {
                    close();
                    if (attempt >= ATTEMPTS) {
                        throw new IOException("publishing " + windows.size() + " corrected windows to Redis failed "
                                + attempt + " times (" + e.getMessage() + "); check that Redis is up — the commit is "
                                + "retried when the job restarts", e);
                    }
                    Thread.sleep(200L * attempt);
                }
            }
        }

        private void send(List<WindowFiring> windows) {
            if (jedis == null) {
                jedis = new Jedis(URI.create(redisUrl), DefaultJedisClientConfig.builder()
                        .connectionTimeoutMillis(5_000).socketTimeoutMillis(5_000).clientName("csr-job-corrections").build());
            }
            List<RedisUpdate> updates = new ArrayList<>(windows.size());
            for (WindowFiring w : windows) {
                updates.add(w.toRedisUpdate());
            }
            UpdateStreams.append(jedis.pipelined(), keyPrefix, updates, System.currentTimeMillis(), retention);
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
