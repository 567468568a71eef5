package io.csr.gateway.stream;

import io.csr.gateway.http.ApiError;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Per-company and per-node SSE connection limits, checked before a stream opens (429 / 503 with Retry-After). */
public final class ConnectionLimits {
    private final int maxPerCompany;
    private final int maxTotal;
    private final int retryAfterSeconds;
    private final Map<String, Integer> perCompany = new ConcurrentHashMap<>();
    private int total;

    public ConnectionLimits(int maxPerCompany, int maxTotal, int retryAfterSeconds) {
        this.maxPerCompany = maxPerCompany;
        this.maxTotal = maxTotal;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Takes a slot for the company or throws the 503/429 {@link ApiError} to answer with. */
    public synchronized void acquire(String companyId) {
        if (total >= maxTotal) {
            throw new ApiError(503, "node_full", "this gateway node holds " + total + " streams (STREAM_MAX_CONNECTIONS=" + maxTotal
                    + "); retry after " + retryAfterSeconds + " s, possibly on another node", retryAfterSeconds);
        }
        int n = perCompany.getOrDefault(companyId, 0);
        if (n >= maxPerCompany) {
            throw new ApiError(429, "too_many_streams", "company " + companyId + " already holds " + n
                    + " streams on this node (STREAM_MAX_CONNECTIONS_PER_COMPANY=" + maxPerCompany + "); close one or retry after "
                    + retryAfterSeconds + " s", retryAfterSeconds);
        }
        perCompany.put(companyId, n + 1);
        total++;
    }

    public synchronized void release(String companyId) {
        perCompany.computeIfPresent(companyId, (k, v) -> v <= 1 ? null : v - 1);
        total = Math.max(0, total - 1);
    }

    public synchronized int total() {
        return total;
    }
}
