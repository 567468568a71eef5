package io.csr.gateway.limits;

import redis.clients.jedis.UnifiedJedis;

import java.time.Duration;
import java.util.List;

/**
 * A company's SSE connections counted across gateway nodes in Redis ({@code redis/stream_slots.lua}): one hash per
 * company, {@code <prefix>streams:{<companyId>}}, with one field per node holding that node's count and when the field
 * expires. Each node writes only its own field, from its own count, so a lost write is healed by the next one; a node
 * that dies (kill -9) stops refreshing its field, which then counts no more after {@link #FIELD_TTL}.
 */
public final class ClusterSlots {
    /** How long a node's count stands without a refresh; nodes refresh every third of it. */
    public static final Duration FIELD_TTL = Duration.ofSeconds(15);
    private static final RedisScript SLOTS = RedisScript.load("stream_slots");

    private final UnifiedJedis redis;
    private final String keyPrefix;
    private final String nodeId;

    public ClusterSlots(UnifiedJedis redis, String keyPrefix, String nodeId) {
        this.redis = redis;
        this.keyPrefix = keyPrefix + "streams:";
        this.nodeId = nodeId;
    }

    String key(String companyId) {
        return keyPrefix + "{" + companyId + "}";
    }

    /**
     * Sets this node's count of the company to {@code mineAfter} unless the other nodes' live count plus it is above
     * {@code cap} (0: no check). Returns the other nodes' count when refused, else -1. Throws Jedis' exceptions.
     */
    public long set(String companyId, int mineAfter, int cap) {
        return (Long) SLOTS.run(redis, key(companyId), List.of(nodeId, Integer.toString(mineAfter),
                Long.toString(FIELD_TTL.toMillis()), Integer.toString(cap)));
    }
}
