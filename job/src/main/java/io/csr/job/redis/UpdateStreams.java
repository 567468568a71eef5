package io.csr.job.redis;

import io.csr.common.contract.RedisStreams;
import io.csr.job.model.RedisUpdate;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.XAddParams;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How live updates are appended to the companies' Redis streams (Contract 3), in one place for every writer — the
 * update sink and the window corrections: one pipelined XADD per update with {@code MINID ~} trimming to the
 * retention, and the first error reply thrown.
 */
public final class UpdateStreams {
    private UpdateStreams() {
    }

    /** Sends {@code updates} as one pipeline on {@code jedis}'s pipeline; throws the first error reply. */
    public static void append(Pipeline pipeline, String keyPrefix, List<RedisUpdate> updates, long nowMs, Duration retention) {
        XAddParams params = XAddParams.xAddParams().minId(Long.toString(Math.max(0L, nowMs - retention.toMillis()))).approximateTrimming();
        for (RedisUpdate update : updates) {
            pipeline.xadd(RedisStreams.updatesKey(keyPrefix, update.companyId), params,
                    Map.of(RedisStreams.FIELD_TYPE, update.type, RedisStreams.FIELD_DATA, update.json));
        }
        for (Object reply : pipeline.syncAndReturnAll()) {
            if (reply instanceof JedisDataException) {
                throw (JedisDataException) reply;
            }
        }
    }
}
