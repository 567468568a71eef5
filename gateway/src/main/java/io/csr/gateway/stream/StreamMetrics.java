package io.csr.gateway.stream;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters of the streaming side, per company and per node; rendered as Prometheus text by {@link #renderPrometheus}. */
public final class StreamMetrics {
    /** Counters of one company on this node. */
    public static final class CompanyStats {
        final String companyId;
        final AtomicLong connections = new AtomicLong();
        final AtomicLong connectionsTotal = new AtomicLong();
        final LongAdder eventsDelivered = new LongAdder();
        final AtomicLong replays = new AtomicLong();
        final LongAdder replayedEvents = new LongAdder();
        final AtomicLong resets = new AtomicLong();
        final AtomicLong evictions = new AtomicLong();
        volatile String lastEventId = "";

        CompanyStats(String companyId) {
            this.companyId = companyId;
        }

        public Map<String, Object> toMap() {
            return Map.of("companyId", companyId, "connections", connections.get(), "connectionsTotal", connectionsTotal.get(),
                    "eventsDelivered", eventsDelivered.sum(), "replays", replays.get(), "replayedEvents", replayedEvents.sum(),
                    "resets", resets.get(), "evictions", evictions.get(), "lastEventId", lastEventId);
        }
    }

    private final Map<String, CompanyStats> companies = new ConcurrentHashMap<>();
    private final AtomicLong rejected429 = new AtomicLong();
    private final AtomicLong rejected503 = new AtomicLong();
    private final AtomicLong redisErrors = new AtomicLong();
    private final AtomicLong entriesRead = new AtomicLong();
    private final AtomicLong directStreams = new AtomicLong();
    private final LatencyHistogram latency = new LatencyHistogram();

    public CompanyStats company(String companyId) {
        return companies.computeIfAbsent(companyId, CompanyStats::new);
    }

    public Collection<CompanyStats> companies() {
        return companies.values();
    }

    public void connectionOpened(String companyId) {
        CompanyStats s = company(companyId);
        s.connections.incrementAndGet();
        s.connectionsTotal.incrementAndGet();
    }

    public void connectionClosed(String companyId) {
        company(companyId).connections.decrementAndGet();
    }

    /**
     * One event written to one connection (hot path: no allocation, striped counters); live events' XADD→flush
     * latency goes to {@link #latency()} separately, after the flush.
     */
    public static void delivered(CompanyStats s, boolean replayed) {
        s.eventsDelivered.increment();
        if (replayed) {
            s.replayedEvents.increment();
        }
    }

    /** The newest entry a reader fanned out for the company (shown by /stream/stats). */
    public void fannedOut(String companyId, String id) {
        company(companyId).lastEventId = id;
    }

    public void replay(String companyId) {
        company(companyId).replays.incrementAndGet();
    }

    public void reset(String companyId) {
        company(companyId).resets.incrementAndGet();
    }

    public void eviction(String companyId) {
        company(companyId).evictions.incrementAndGet();
    }

    /** A stream served directly on its connection rather than through the routing (see {@code stream.direct}). */
    public void directStreamOpened() {
        directStreams.incrementAndGet();
    }

    public long directStreams() {
        return directStreams.get();
    }

    public void rejected(int status) {
        (status == 429 ? rejected429 : rejected503).incrementAndGet();
    }

    public void redisError() {
        redisErrors.incrementAndGet();
    }

    public void entriesRead(int n) {
        entriesRead.addAndGet(n);
    }

    public LatencyHistogram latency() {
        return latency;
    }

    public long totalConnections() {
        return companies.values().stream().mapToLong(c -> c.connections.get()).sum();
    }

    public long total(java.util.function.ToLongFunction<CompanyStats> f) {
        return companies.values().stream().mapToLong(f).sum();
    }

    public void renderPrometheus(StringBuilder out) {
        renderPrometheus(out, true);
    }

    /** {@code perCompany=false} leaves out the series labelled by company (they name other tenants; operators only). */
    public void renderPrometheus(StringBuilder out, boolean perCompany) {
        gauge(out, "csr_stream_connections", "Open SSE connections on this node.", totalConnections());
        if (perCompany) {
            out.append("# HELP csr_stream_company_connections Open SSE connections per company.\n# TYPE csr_stream_company_connections gauge\n");
            companies.values().forEach(c -> out.append("csr_stream_company_connections{company=\"").append(c.companyId).append("\"} ")
                    .append(c.connections.get()).append('\n'));
        }
        counter(out, "csr_stream_connections_total", "SSE connections accepted.", total(c -> c.connectionsTotal.get()));
        counter(out, "csr_stream_direct_connections_total", "SSE connections served directly on their connection (the first request of a connection); the others went through the routing.", directStreams.get());
        counter(out, "csr_stream_events_delivered_total", "Events written to SSE clients (live and replayed).", total(c -> c.eventsDelivered.sum()));
        counter(out, "csr_stream_replays_total", "Connections that resumed by Last-Event-ID with a replay.", total(c -> c.replays.get()));
        counter(out, "csr_stream_replayed_events_total", "Events written by replays.", total(c -> c.replayedEvents.sum()));
        counter(out, "csr_stream_resets_total", "reset frames sent (id expired, unknown or malformed; stream history lost).", total(c -> c.resets.get()));
        counter(out, "csr_stream_evictions_total", "Slow consumers evicted after their buffer overflowed.", total(c -> c.evictions.get()));
        out.append("# HELP csr_stream_rejected_total Connections refused over a limit, by status.\n# TYPE csr_stream_rejected_total counter\n");
        out.append("csr_stream_rejected_total{status=\"429\"} ").append(rejected429.get()).append('\n');
        out.append("csr_stream_rejected_total{status=\"503\"} ").append(rejected503.get()).append('\n');
        counter(out, "csr_stream_redis_errors_total", "Redis reader errors (each followed by a reconnect with backoff).", redisErrors.get());
        counter(out, "csr_stream_entries_read_total", "Stream entries read from Redis by the tail readers.", entriesRead.get());
        latency.render(out, "csr_stream_delivery_latency_seconds", "XADD (ms part of the Redis id) to write+flush on the SSE socket, live events.");
    }

    private static void gauge(StringBuilder out, String name, String help, long v) {
        out.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void counter(StringBuilder out, String name, String help, long v) {
        out.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }
}
