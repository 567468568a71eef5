package io.csr.job.correction;

import io.csr.common.contract.RedisStreams;
import io.csr.common.contract.UpdateType;
import io.csr.common.json.Json;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XAddParams;

import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Publishes corrected windows to the companies' Redis update streams (Contract 3), like the live operator's firings:
 * same stream key, same fields, same {@code MINID} trimming. A failure after a few attempts fails the commit, so the
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

        void publish(List<CorrectedWindow> windows) throws IOException, InterruptedException {
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

        private void send(List<CorrectedWindow> windows) throws IOException {
            if (jedis == null) {
                jedis = new Jedis(URI.create(redisUrl), DefaultJedisClientConfig.builder()
                        .connectionTimeoutMillis(5_000).socketTimeoutMillis(5_000).clientName("csr-job-corrections").build());
            }
            long minId = System.currentTimeMillis() - retention.toMillis();
            XAddParams params = XAddParams.xAddParams().minId(Long.toString(Math.max(0L, minId))).approximateTrimming();
            Pipeline pipeline = jedis.pipelined();
            for (CorrectedWindow w : windows) {
                pipeline.xadd(RedisStreams.updatesKey(keyPrefix, w.companyId()), params,
                        Map.of(RedisStreams.FIELD_TYPE, UpdateType.forMetric(w.metric()).wireName(),
                                RedisStreams.FIELD_DATA, Json.mapper().writeValueAsString(w.update())));
            }
            for (Object reply : pipeline.syncAndReturnAll()) {
                if (reply instanceof JedisDataException) {
                    throw (JedisDataException) reply;
                }
            }
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
