package io.csr.gateway.stream;

import io.csr.gateway.http.ApiError;
import io.csr.gateway.limits.ClusterSlots;
import redis.clients.jedis.exceptions.JedisException;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * SSE connection limits, checked before a stream opens: the node's own total ({@code STREAM_MAX_CONNECTIONS}, 503 with
 * Retry-After) and the company's cap ({@code STREAM_MAX_CONNECTIONS_PER_COMPANY}, 429 with Retry-After). With
 * {@link ClusterSlots} the company's cap counts its streams on every gateway node (through Redis); without, on this
 * node only. The node's count of a company is the truth here: it is written to Redis on every change and every
 * {@link #refreshCluster()} (a third of {@link ClusterSlots#FIELD_TTL}), so a failed write heals itself.
 */
public final class ConnectionLimits {
    private static final Logger LOG = Logger.getLogger(ConnectionLimits.class.getName());
    private final int maxPerCompany;
    private final int maxTotal;
    private final int retryAfterSeconds;
    private final ClusterSlots cluster; // null: per node
    private final Map<String, Integer> perCompany = new ConcurrentHashMap<>();
    private int total;
    private volatile boolean draining;

    public ConnectionLimits(int maxPerCompany, int maxTotal, int retryAfterSeconds) {
        this(maxPerCompany, maxTotal, retryAfterSeconds, null);
    }

    public ConnectionLimits(int maxPerCompany, int maxTotal, int retryAfterSeconds, ClusterSlots cluster) {
        this.maxPerCompany = maxPerCompany;
        this.maxTotal = maxTotal;
        this.retryAfterSeconds = retryAfterSeconds;
        this.cluster = cluster;
    }

    /** Takes a slot for the company or throws the 503/429 {@link ApiError} to answer with. */
    public synchronized void acquire(String companyId) {
        if (draining) {
            throw new ApiError(503, "draining", "this gateway node is shutting down and takes no new streams; retry after "
                    + retryAfterSeconds + " s on another node (the load balancer sends you there)", retryAfterSeconds);
        }
        if (total >= maxTotal) {
            throw new ApiError(503, "node_full", "this gateway node holds " + total + " streams (STREAM_MAX_CONNECTIONS=" + maxTotal
                    + "); retry after " + retryAfterSeconds + " s, possibly on another node", retryAfterSeconds);
        }
        int n = perCompany.getOrDefault(companyId, 0);
        long others = 0;
        if (cluster != null) {
            try {
                others = cluster.set(companyId, n + 1, maxPerCompany);
            } catch (JedisException e) {
                LOG.warning("Redis unavailable for the cluster-wide stream count of " + companyId + ": " + e.getMessage());
                throw new ApiError(503, "redis_unavailable", "the update stream store (Redis) cannot be reached; retry after "
                        + retryAfterSeconds + " s", retryAfterSeconds);
            }
        }
        if (n >= maxPerCompany || others >= 0) {
            long held = n + Math.max(0, others);
            throw new ApiError(429, "too_many_streams", "company " + companyId + " already holds " + held + " streams"
                    + (cluster == null ? " on this node" : " across the gateway nodes") + " (STREAM_MAX_CONNECTIONS_PER_COMPANY="
                    + maxPerCompany + "); close one or retry after " + retryAfterSeconds + " s", retryAfterSeconds);
        }
        perCompany.put(companyId, n + 1);
        total++;
    }

    public synchronized void release(String companyId) {
        Integer after = perCompany.computeIfPresent(companyId, (k, v) -> v <= 1 ? null : v - 1);
        total = Math.max(0, total - 1);
        if (cluster != null) {
            writeQuietly(companyId, after == null ? 0 : after);
        }
    }

    /** Writes this node's count of every company it holds streams of to Redis again (keeps the fields alive). */
    public void refreshCluster() {
        if (cluster == null) {
            return;
        }
        for (String companyId : List.copyOf(perCompany.keySet())) {
            synchronized (this) {
                writeQuietly(companyId, perCompany.getOrDefault(companyId, 0));
            }
        }
    }

    private void writeQuietly(String companyId, int count) {
        try {
            cluster.set(companyId, count, 0);
        } catch (JedisException e) {
            LOG.fine(() -> "stream count of " + companyId + " not written to Redis (" + e.getMessage() + "); the next refresh writes it");
        }
    }

    /** From now on every new stream is refused (503 {@code draining}); the node is shutting down. */
    public void drain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    public synchronized int total() {
        return total;
    }
}
