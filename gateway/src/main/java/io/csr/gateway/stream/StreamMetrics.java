package io.csr.gateway.stream;

import io.csr.gateway.http.PrometheusText;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Counters of the streaming side, per company and per node; exposed through the Prometheus Java client's registry and
 * text format by {@link #renderPrometheus}.
 */
public final class StreamMetrics {
    static final String COMPANY_CONNECTIONS = "csr_stream_company_connections";
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
    private final LongAdder readerWrites = new LongAdder();
    private final LongAdder readerUnsent = new LongAdder();
    private final LatencyHistogram latency = new LatencyHistogram();
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusRegistry totals = new PrometheusRegistry();

    public StreamMetrics() {
        register();
    }

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

    /** A tail reader wrote live events to a waiting stream's socket itself; {@code unsent}: the socket did not take all. */
    void readerWrote(boolean unsent) {
        readerWrites.increment();
        if (unsent) {
            readerUnsent.increment();
        }
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
        out.append(PrometheusText.render(registry, perCompany ? name -> true : name -> !name.equals(COMPANY_CONNECTIONS)));
        out.append(PrometheusText.render(totals, name -> true));
    }

    /**
     * Our series as callbacks on the counters above (the hot path stays on striped counters) and the latency
     * histogram. {@code csr_stream_connections_total} sits in a registry of its own: the client takes a counter's name
     * without {@code _total} as its identity, which the gauge {@code csr_stream_connections} already has — the exported
     * names (and dashboards) stay as they were.
     */
    private void register() {
        GaugeWithCallback.builder().name("csr_stream_connections").help("Open SSE connections on this node.")
                .callback(cb -> cb.call(totalConnections())).register(registry);
        GaugeWithCallback.builder().name(COMPANY_CONNECTIONS).help("Open SSE connections per company.").labelNames("company")
                .callback(cb -> companies.values().forEach(c -> cb.call(c.connections.get(), c.companyId))).register(registry);
        counter(totals, "csr_stream_connections_total", "SSE connections accepted.", () -> total(c -> c.connectionsTotal.get()));
        counter(registry, "csr_stream_direct_connections_total", "SSE connections served directly on their connection (the first request of a connection); the others went through the routing.", directStreams::get);
        counter(registry, "csr_stream_reader_writes_total", "Writes of live events that a tail reader made to a waiting stream's socket itself, "
                + "instead of waking the stream's thread (one write per fan-out batch and connection).", readerWrites::sum);
        counter(registry, "csr_stream_reader_writes_unsent_total", "Of those, writes the socket did not take whole (the client reads slowly): "
                + "the stream's own thread wrote the rest and the events after it.", readerUnsent::sum);
        counter(registry, "csr_stream_events_delivered_total", "Events written to SSE clients (live and replayed).", () -> total(c -> c.eventsDelivered.sum()));
        counter(registry, "csr_stream_replays_total", "Connections that resumed by Last-Event-ID with a replay.", () -> total(c -> c.replays.get()));
        counter(registry, "csr_stream_replayed_events_total", "Events written by replays.", () -> total(c -> c.replayedEvents.sum()));
        counter(registry, "csr_stream_resets_total", "reset frames sent (id expired, unknown or malformed; stream history lost).", () -> total(c -> c.resets.get()));
        counter(registry, "csr_stream_evictions_total", "Slow consumers evicted after their buffer overflowed.", () -> total(c -> c.evictions.get()));
        CounterWithCallback.builder().name("csr_stream_rejected_total").help("Connections refused over a limit, by status.").labelNames("status")
                .callback(cb -> {
                    cb.call(rejected429.get(), "429");
                    cb.call(rejected503.get(), "503");
                }).register(registry);
        counter(registry, "csr_stream_redis_errors_total", "Redis reader errors (each followed by a reconnect with backoff).", redisErrors::get);
        counter(registry, "csr_stream_entries_read_total", "Stream entries read from Redis by the tail readers.", entriesRead::get);
        registry.register(latency.metric());
    }

    private static void counter(PrometheusRegistry into, String name, String help, LongSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(into);
    }
}
