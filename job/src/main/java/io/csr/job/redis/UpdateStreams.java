package io.csr.job.redis;

import io.csr.common.contract.RedisStreams;
import io.csr.job.model.RedisUpdate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XAddParams;
import redis.clients.jedis.params.XTrimParams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How live updates are appended to the companies' Redis streams (Contract 3), in one place for every writer — the
 * update sink and the window corrections: one XADD per update with {@code MINID ~} trimming to the age bound, one
 * {@code XTRIM MAXLEN ~} per company and batch when a count bound is set, all in one pipeline (on a Redis Cluster, one
 * pipeline per node: the keys are hash-tagged per company), and the first error reply thrown.
 *
 * <p>A failover can lose the tail of a stream: entries the old master acknowledged but had not yet replicated. The
 * new master may then issue those ids again, for other entries. One writer sees this when an XADD answers an id not
 * above the last one it was given for that company; it then records the range of ids that may now name a different
 * entry in the company's {@link RedisStreams#lostKey lost-id hash} (first id → last id, expiring with the retention),
 * and a gateway answers a client resuming from such an id with {@code reset}. Per writer and per company only the
 * last id is kept: one entry per company the writer has published to.
 */
public final class UpdateStreams {
    private static final Logger LOG = LoggerFactory.getLogger(UpdateStreams.class);

    private final String keyPrefix;
    private final Duration retention;
    private final long maxLen;
    private final Map<String, StreamEntryID> lastIds = new HashMap<>();

    public UpdateStreams(String keyPrefix, Duration retention, long maxLen) {
        this.keyPrefix = keyPrefix;
        this.retention = retention;
        this.maxLen = maxLen;
    }

    /**
     * Sends {@code updates} as one pipeline; throws the first error reply (or the connection's error) as a
     * {@link JedisException}. A cluster pipeline that lost a node mid-sync can fail with other runtime exceptions
     * (Jedis 7.2 logs the node's error, then trips over the missing connection): they are wrapped, so the caller's
     * retry through a failover sees one kind of failure.
     */
    public void append(UnifiedJedis redis, List<RedisUpdate> updates, long nowMs) {
        if (updates.isEmpty()) {
            return;
        }
        try {
            send(redis, updates, nowMs);
        } catch (JedisException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new JedisConnectionException("a pipelined write to Redis failed: " + e, e);
        }
    }

    private void send(UnifiedJedis redis, List<RedisUpdate> updates, long nowMs) {
        XAddParams params = XAddParams.xAddParams().minId(Long.toString(Math.max(0L, nowMs - retention.toMillis()))).approximateTrimming();
        List<Response<StreamEntryID>> ids = new ArrayList<>(updates.size());
        List<Response<Long>> trims = new ArrayList<>();
        try (AbstractPipeline pipeline = redis.pipelined()) {
            Map<String, String> keys = new LinkedHashMap<>();
            for (RedisUpdate update : updates) {
                String key = keys.computeIfAbsent(update.companyId, c -> RedisStreams.updatesKey(keyPrefix, c));
                ids.add(pipeline.xadd(key, params, Map.of(RedisStreams.FIELD_TYPE, update.type, RedisStreams.FIELD_DATA, update.json)));
            }
            if (maxLen > 0) {
                for (String key : keys.values()) {
                    trims.add(pipeline.xtrim(key, XTrimParams.xTrimParams().maxLen(maxLen).approximateTrimming()));
                }
            }
            pipeline.sync();
        }
        Map<String, StreamEntryID[]> firstAndLast = new LinkedHashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            StreamEntryID id = ids.get(i).get(); // throws the error reply, if any
            firstAndLast.computeIfAbsent(updates.get(i).companyId, c -> new StreamEntryID[] {id, id})[1] = id;
        }
        for (Response<Long> trim : trims) {
            trim.get();
        }
        for (Map.Entry<String, StreamEntryID[]> e : firstAndLast.entrySet()) {
            StreamEntryID before = lastIds.put(e.getKey(), e.getValue()[1]);
            StreamEntryID first = e.getValue()[0];
            if (before != null && first.compareTo(before) <= 0) {
                recordLost(redis, e.getKey(), first, before);
            }
        }
    }

    /** Ids {@code from … to} of the company may now name entries other than the ones clients were sent. */
    private void recordLost(UnifiedJedis redis, String companyId, StreamEntryID from, StreamEntryID to) {
        String key = RedisStreams.lostKey(keyPrefix, companyId);
        LOG.warn("Redis stream of company {} went back from {} to {}: a failover lost its tail; ids {}..{} are recorded in {} "
                + "so that clients resuming from them get reset", companyId, to, from, from, to, key);
        redis.hset(key, from.toString(), to.toString());
        redis.pexpire(key, retention.toMillis());
    }
}
