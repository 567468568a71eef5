package io.csr.gateway.cluster;

import io.csr.common.json.Json;
import io.csr.gateway.stream.ConnectionLimits;
import io.csr.gateway.stream.StreamMetrics;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * This node's part of the cluster-wide figures: every {@link #PERIOD} it writes its connections and delivery counters
 * as one JSON field of the Redis hash {@code <prefix>cluster:nodes} (field = node id, with the time it stops counting:
 * {@link #TTL}), and keeps its per-company stream counts in Redis alive ({@link ConnectionLimits#refreshCluster()}).
 * {@link #read} sums the live fields; a node killed with -9 drops out of the sums within {@link #TTL}, a node shut
 * down cleanly at once ({@link #close()}).
 */
public final class NodeFigures implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeFigures.class.getName());
    public static final Duration TTL = Duration.ofSeconds(15);
    public static final Duration PERIOD = Duration.ofSeconds(5);

    private final UnifiedJedis redis;
    private final String key;
    private final String nodeId;
    private final String address;
    private final StreamMetrics metrics;
    private final ConnectionLimits limits;
    private final Clock clock;
    private final long startedAt;
    private final Thread publisher;

    /** @param address how an operator reaches the node (host:port), shown beside its id */
    public NodeFigures(UnifiedJedis redis, String keyPrefix, String nodeId, String address, StreamMetrics metrics, ConnectionLimits limits, Clock clock) {
        this.redis = redis;
        this.key = keyPrefix + "cluster:nodes";
        this.nodeId = nodeId;
        this.address = address;
        this.metrics = metrics;
        this.limits = limits;
        this.clock = clock;
        this.startedAt = clock.millis();
        this.publisher = Thread.ofPlatform().daemon().name("csr-node-figures").start(this::loop);
    }

    public String nodeId() {
        return nodeId;
    }

    private void loop() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                publishOnce();
                Thread.sleep(PERIOD.toMillis());
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /** Writes this node's figures (and refreshes its stream counts) now. */
    public void publishOnce() {
        limits.refreshCluster();
        try {
            redis.hset(key, nodeId, Json.mapper().writeValueAsString(figures()));
        } catch (JedisException | com.fasterxml.jackson.core.JsonProcessingException e) {
            LOG.fine(() -> "node figures not published (" + e.getMessage() + "); next try in " + PERIOD.toSeconds() + " s");
        }
    }

    /** This node's figures as published. */
    public Map<String, Object> figures() {
        Map<String, Object> m = new LinkedHashMap<>();
        long now = clock.millis();
        m.put("node", nodeId);
        m.put("address", address);
        m.put("startedAt", java.time.Instant.ofEpochMilli(startedAt).toString());
        m.put("publishedAt", java.time.Instant.ofEpochMilli(now).toString());
        m.put("expiresAtMillis", now + TTL.toMillis());
        m.put("draining", limits.draining());
        m.put("connections", metrics.totalConnections());
        Map<String, Long> perCompany = new TreeMap<>();
        long delivered = 0;
        long replayed = 0;
        long accepted = 0;
        for (StreamMetrics.CompanyStats c : metrics.companies()) {
            Map<String, Object> cm = c.toMap();
            long conns = ((Number) cm.get("connections")).longValue();
            if (conns > 0) {
                perCompany.put((String) cm.get("companyId"), conns);
            }
            delivered += ((Number) cm.get("eventsDelivered")).longValue();
            replayed += ((Number) cm.get("replayedEvents")).longValue();
            accepted += ((Number) cm.get("connectionsTotal")).longValue();
        }
        m.put("connectionsTotal", accepted);
        m.put("eventsDelivered", delivered);
        m.put("replayedEvents", replayed);
        m.put("deliveryLatencyMs", Map.of("count", metrics.latency().count(),
                "p50UpperBound", metrics.latency().quantileUpperBoundMs(0.5),
                "p99UpperBound", metrics.latency().quantileUpperBoundMs(0.99)));
        m.put("companies", perCompany);
        return m;
    }

    /**
     * The whole cluster from Redis: {@code nodes} (each live node's figures, expired ones removed) and {@code totals}
     * (connections, connectionsTotal, eventsDelivered, replayedEvents summed; connections per company summed).
     */
    public static Map<String, Object> read(UnifiedJedis redis, String keyPrefix, long nowMillis) {
        String key = keyPrefix + "cluster:nodes";
        Map<String, String> fields = redis.hgetAll(key);
        List<Map<String, Object>> nodes = new ArrayList<>();
        List<String> expired = new ArrayList<>();
        long connections = 0;
        long accepted = 0;
        long delivered = 0;
        long replayed = 0;
        Map<String, Long> perCompany = new TreeMap<>();
        for (Map.Entry<String, String> f : new TreeMap<>(fields).entrySet()) {
            Map<String, Object> node;
            try {
                node = Json.mapper().readValue(f.getValue(), new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>>() { });
            } catch (Exception e) {
                expired.add(f.getKey());
                continue;
            }
            if (((Number) node.getOrDefault("expiresAtMillis", 0)).longValue() <= nowMillis) {
                expired.add(f.getKey());
                continue;
            }
            nodes.add(node);
            connections += ((Number) node.get("connections")).longValue();
            accepted += ((Number) node.get("connectionsTotal")).longValue();
            delivered += ((Number) node.get("eventsDelivered")).longValue();
            replayed += ((Number) node.get("replayedEvents")).longValue();
            @SuppressWarnings("unchecked")
            Map<String, Object> companies = (Map<String, Object>) node.getOrDefault("companies", Map.of());
            companies.forEach((c, n) -> perCompany.merge(c, ((Number) n).longValue(), Long::sum));
        }
        if (!expired.isEmpty()) {
            redis.hdel(key, expired.toArray(String[]::new));
        }
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("nodes", nodes.size());
        totals.put("connections", connections);
        totals.put("connectionsTotal", accepted);
        totals.put("eventsDelivered", delivered);
        totals.put("replayedEvents", replayed);
        totals.put("companies", perCompany);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("totals", totals);
        out.put("nodes", nodes);
        return out;
    }

    /** Stops publishing and removes this node's field, so the sums drop it at once. */
    @Override
    public void close() {
        publisher.interrupt();
        try {
            publisher.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            redis.hdel(key, nodeId);
        } catch (JedisException e) {
            LOG.fine(() -> "node figures not removed (" + e.getMessage() + "); they expire within " + TTL.toSeconds() + " s");
        }
    }
}
