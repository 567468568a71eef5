package io.csr.perf.sse;

import io.csr.common.cli.Cli;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.MetricUpdate;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SSE fan-out benchmark: opens N concurrent SSE connections (one NIO selector thread, no thread per connection) to a
 * running gateway, spread over C companies; measures heap per idle connection in the gateway process (jcmd, after
 * GC), then XADDs events at a fixed rate into the companies' Redis streams and measures XADD→client latency, events
 * delivered vs expected and server-side disconnects. Results go to a JSON file under perf/results.
 * <pre>
 * java -cp … io.csr.perf.sse.SseBench --connections 5000 --companies 50 --rate 1000 --seconds 60 --gateway-pid PID
 * </pre>
 */
public final class SseBench {
    private final Options o;
    private final CsrConfig config;
    private final Histogram latencyMicros = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    private final Map<Long, Long> publishedAtNanos = new ConcurrentHashMap<>();
    /** Per second of the measured phase: deliveries and a latency histogram (throughput and p99 over time). */
    private final List<Histogram> perSecond = new ArrayList<>();
    private volatile long measureStartNanos;
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong deliveredMeasured = new AtomicLong();
    private final AtomicLong serverCloses = new AtomicLong();
    private final AtomicLong connectErrors = new AtomicLong();
    /** Connections whose every attempt was answered other than 200 (given up). */
    final AtomicLong non200 = new AtomicLong();
    /** Subscribes answered other than 200 and opened again (see Options#subscribeRetries). */
    final AtomicLong retried = new AtomicLong();
    /** Connections answered other than 200 with attempts left: the connecting thread opens them again. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Conn> refused = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong heartbeats = new AtomicLong();
    /** Events a connection had already received: not counted as deliveries. */
    private final AtomicLong repeats = new AtomicLong();
    /** Events without the benchmark's sequence number: not counted as deliveries. */
    private final AtomicLong invalid = new AtomicLong();
    private volatile boolean measuring;
    private Selector selector;
    private final List<Conn> conns = new ArrayList<>();

    SseBench(Options o, CsrConfig config) {
        this.o = o;
        this.config = config;
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    final class Conn implements SseFrameParser.Listener {
        final int index;
        final String company;
        final int attempt;
        final SocketChannel channel;
        final SseFrameParser parser = new SseFrameParser(this);
        volatile int status;
        volatile boolean ready;
        String lastId;
        /**
         * Sequence numbers this connection received, by seq / companies (a company's events are every companies-th
         * sequence number, so the bits are dense): a second copy is a repeat, not a delivery. Not "higher than the
         * last": the publisher's threads may hand a company's events to the server out of order.
         */
        final java.util.BitSet seen = new java.util.BitSet();

        Conn(int index, String company, int attempt, SocketChannel channel) {
            this.index = index;
            this.company = company;
            this.attempt = attempt;
            this.channel = channel;
        }

        @Override
        public void onStatus(int s) {
            status = s;
            if (s != 200) {
                if (attempt < o.subscribeRetries) {
                    refused.add(this);
                } else {
                    non200.incrementAndGet();
                }
            } else {
                ready = true;
            }
        }

        @Override
        public void onEvent(String id, String event, String data) {
            if ("reset".equals(event)) {
                resets.incrementAndGet();
                return;
            }
            lastId = id;
            long seq = sequenceOf(data);
            if (seq < 0) {
                invalid.incrementAndGet();
                return;
            }
            int bit = (int) (seq / o.companies);
            if (seen.get(bit)) { // a copy of an event this connection already had: one distinct delivery only
                repeats.incrementAndGet();
                return;
            }
            seen.set(bit);
            delivered.incrementAndGet();
            if (!measuring) {
                return;
            }
            long now = System.nanoTime();
            Long at = publishedAtNanos.get(seq);
            if (at == null) { // published before the measured phase (warm-up) or not ours
                return;
            }
            long micros = Math.max(0, Math.min((now - at) / 1_000, latencyMicros.getHighestTrackableValue()));
            synchronized (latencyMicros) {
                latencyMicros.recordValue(micros);
                int second = (int) ((now - measureStartNanos) / 1_000_000_000L);
                while (perSecond.size() <= second) {
                    perSecond.add(new Histogram(latencyMicros.getHighestTrackableValue(), 2));
                }
                perSecond.get(second).recordValue(micros);
            }
            deliveredMeasured.incrementAndGet();
        }

        @Override
        public void onComment(String comment) {
            heartbeats.incrementAndGet();
        }
    }

    private void run() throws Exception {
        URI url = URI.create(o.url);
        String host = url.getHost();
        int port = url.getPort() < 0 ? 80 : url.getPort();
        List<String> companies = new ArrayList<>();
        for (int c = 0; c < o.companies; c++) {
            companies.add(o.companyPrefix + c);
        }
        Map<String, String> tokens = new LinkedHashMap<>();
        if (o.target.needsToken()) {
            for (String c : companies) {
                tokens.put(c, token(c));
            }
            try (Jedis jedis = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
                for (String c : companies) { // start from empty streams so the first frames are live events only
                    jedis.del(RedisStreams.updatesKey(config.get(ConfigKey.REDIS_KEY_PREFIX), c));
                }
            }
        }
        List<String> serverProcesses = servingPath();
        System.out.println("CPU and memory counted for: " + serverProcesses);
        GripOrigin origin = o.target == Target.PUSHPIN ? new GripOrigin(o.originPort) : null;

        long heapBefore = o.gatewayPid > 0 ? heapUsedAfterGc(o.gatewayPid) : -1;
        ProcessStats serverBefore = ProcessStats.of(o.serverPids);
        Map<Long, ProcessStats> rssBefore = byProcess(o.serverPids);
        System.out.printf("gateway heap after GC before connecting: %s%n", heapBefore < 0 ? "n/a (no --gateway-pid)" : heapBefore / 1024 + " KiB");

        long connectStart = System.nanoTime();
        connectAll(host, port, companies, tokens);
        double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
        int ready = readyCount();
        System.out.printf("%d/%d connections streaming after %.1f s (%d non-200, %d connect errors, %d subscribes retried after a non-200)%n",
                ready, o.connections, connectSeconds, non200.get(), connectErrors.get(), retried.get());

        Thread.sleep(o.settleSeconds * 1000L);
        long heapAfter = o.gatewayPid > 0 ? heapUsedAfterGc(o.gatewayPid) : -1;
        long heapPerConn = heapBefore >= 0 && ready > 0 ? (heapAfter - heapBefore) / ready : -1;
        System.out.printf("heap per idle connection: %s%n", heapPerConn < 0 ? "n/a" : heapPerConn + " bytes");
        ProcessStats serverIdle = ProcessStats.of(o.serverPids);
        Map<Long, ProcessStats> rssIdle = byProcess(o.serverPids);
        long rssPerConn = o.serverPids.isEmpty() || ready == 0 ? -1 : (serverIdle.rssBytes() - serverBefore.rssBytes()) / ready;
        System.out.printf("server RSS per idle connection: %s%n", rssPerConn < 0 ? "n/a (no --server-pids)" : rssPerConn + " bytes");
        long closesBeforeMeasure = serverCloses.get();

        // publish
        long published = 0;
        long publishedMeasured = 0;
        Map<String, Integer> subscribers = new LinkedHashMap<>();
        synchronized (conns) {
            for (Conn c : conns) {
                if (c.ready) {
                    subscribers.merge(c.company, 1, Integer::sum);
                }
            }
        }
        long expectedMeasured = 0;
        long totalSeconds = o.warmupSeconds + o.seconds;
        long periodNanos = 1_000_000_000L / o.rate;
        long start = System.nanoTime();
        String prefix = config.get(ConfigKey.REDIS_KEY_PREFIX);
        ProcessStats serverMeasureStart = null;
        Map<Long, ProcessStats> cpuMeasureStart = null;
        long publishErrors = 0;
        // Open loop: each event is due at start + n·period and handed to a small pool of publishers, so a server whose
        // publish call is slow (nchan answers a POST after fanning it out) still gets the same rate, and the latency
        // runs from the due time (no coordinated omission: a late publish counts against the server).
        AtomicLong publishedCount = new AtomicLong();
        AtomicLong publishedMeasuredCount = new AtomicLong();
        AtomicLong expectedMeasuredCount = new AtomicLong();
        AtomicLong publishErrorCount = new AtomicLong();
        List<Target.Publisher> publishers = java.util.Collections.synchronizedList(new ArrayList<>());
        ThreadLocal<Target.Publisher> publisherOfThread = ThreadLocal.withInitial(() -> {
            Target.Publisher p = o.target.publisher(o.publishUrl, config.get(ConfigKey.REDIS_URL), prefix);
            publishers.add(p);
            return p;
        });
        RedisReads readsBefore = o.target == Target.OURS ? RedisReads.of(o.gatewayMetrics, config.get(ConfigKey.REDIS_URL)) : null;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(o.publishThreads);
        for (long n = 0; ; n++) {
            long due = start + n * periodNanos;
            long now = System.nanoTime();
            if (now - start > totalSeconds * 1_000_000_000L) {
                break;
            }
            if (!measuring && now - start > o.warmupSeconds * 1_000_000_000L) {
                measureStartNanos = System.nanoTime();
                serverMeasureStart = ProcessStats.of(o.serverPids);
                cpuMeasureStart = byProcess(o.serverPids);
                measuring = true;
            }
            if (due > now) {
                TimeUnit.NANOSECONDS.sleep(due - now);
            }
            String company = companies.get((int) (n % companies.size()));
            String data = Json.mapper().writeValueAsString(new MetricUpdate(company, "bench", "1m",
                    Instant.now().toString(), n, n, 0, n, 1, 1, 1, 1, 0, n, false));
            boolean inMeasure = measuring;
            if (inMeasure) {
                publishedAtNanos.put(n, due);
            }
            long seq = n;
            int subs = subscribers.getOrDefault(company, 0);
            pool.execute(() -> {
                try {
                    publisherOfThread.get().publish(company, seq, "metric_updated", data);
                } catch (Exception e) {
                    if (publishErrorCount.getAndIncrement() == 0) {
                        System.out.println("publish failed (counted, run goes on): " + e.getMessage());
                    }
                    return;
                }
                publishedCount.incrementAndGet();
                if (inMeasure) {
                    publishedMeasuredCount.incrementAndGet();
                    expectedMeasuredCount.addAndGet(subs);
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(30, TimeUnit.SECONDS);
        publishers.forEach(Target.Publisher::close);
        published = publishedCount.get();
        publishedMeasured = publishedMeasuredCount.get();
        expectedMeasured = expectedMeasuredCount.get();
        publishErrors = publishErrorCount.get();
        double achievedRate = published / ((System.nanoTime() - start) / 1e9);
        long drainDeadline = System.currentTimeMillis() + 10_000;
        while (deliveredMeasured.get() < expectedMeasured && System.currentTimeMillis() < drainDeadline) {
            Thread.sleep(50);
        }
        measuring = false;
        RedisReads readsAfter = readsBefore == null ? null : RedisReads.of(o.gatewayMetrics, config.get(ConfigKey.REDIS_URL));
        ProcessStats serverMeasureEnd = ProcessStats.of(o.serverPids);
        Map<Long, ProcessStats> cpuMeasureEnd = byProcess(o.serverPids);
        double serverCpu = serverMeasureStart == null ? -1 : serverMeasureEnd.cpuSeconds() - serverMeasureStart.cpuSeconds();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("target", o.target.label());
        result.put("timestamp", Instant.now().toString());
        result.put("loadAverage", loadAverage());
        result.put("machine", machine());
        result.put("url", o.url);
        result.put("connectionsRequested", o.connections);
        result.put("connectionsStreaming", ready);
        result.put("connectSeconds", round(connectSeconds));
        result.put("companies", o.companies);
        result.put("targetRatePerSec", o.rate);
        result.put("achievedPublishRatePerSec", round(achievedRate));
        result.put("measureSeconds", o.seconds);
        result.put("warmupSeconds", o.warmupSeconds);
        result.put("eventsPublishedMeasured", publishedMeasured);
        result.put("deliveriesExpectedMeasured", expectedMeasured);
        result.put("deliveriesMeasured", deliveredMeasured.get());
        result.put("deliveriesPerSec", round(deliveredMeasured.get() / (double) o.seconds));
        synchronized (latencyMicros) {
            Map<String, Object> latency = new LinkedHashMap<>();
            latency.put("p50", percentileMs(latencyMicros, 50));
            latency.put("p95", percentileMs(latencyMicros, 95));
            latency.put("p99", percentileMs(latencyMicros, 99));
            latency.put("p999", percentileMs(latencyMicros, 99.9));
            latency.put("max", latencyMicros.getTotalCount() == 0 ? null : latencyMicros.getMaxValue() / 1000.0);
            result.put("latencyMs", latency);
        }
        result.put("deliveredRatio", expectedMeasured == 0 ? 0 : round(deliveredMeasured.get() / (double) expectedMeasured));
        result.put("repeatsSeen", repeats.get());
        result.put("eventsWithoutSequence", invalid.get());
        result.put("serverProcesses", serverProcesses);
        result.put("publishErrors", publishErrors);
        result.put("serverCpuSecondsMeasured", round(serverCpu));
        result.put("serverCpuSecondsPer100kDeliveries", serverCpu < 0 || deliveredMeasured.get() == 0 ? -1
                : round(serverCpu / deliveredMeasured.get() * 100_000));
        if (cpuMeasureStart != null) {
            result.put("serverCpuByProcess", cpuByProcess(serverProcesses, cpuMeasureStart, cpuMeasureEnd, deliveredMeasured.get()));
        }
        result.put("serverRssPerIdleConnectionBytes", rssPerConn);
        result.put("serverRssAfterBytes", serverMeasureEnd.rssBytes());
        result.put("serverRssByProcess", rssByProcess(serverProcesses, rssBefore, rssIdle, ready));
        if (readsAfter != null) {
            // the whole publishing (warm-up and measured): every entry published was read by whoever tails its company
            result.put("redisReads", readsAfter.since(readsBefore, published, o.gatewayMetrics.size()));
        }
        result.put("evictionsOrServerCloses", serverCloses.get() - closesBeforeMeasure);
        List<Map<String, Object>> timeline = new ArrayList<>();
        synchronized (latencyMicros) {
            for (int s = 0; s < perSecond.size(); s++) {
                Histogram h = perSecond.get(s);
                Map<String, Object> second = new LinkedHashMap<>();
                second.put("second", s);
                second.put("deliveries", h.getTotalCount());
                second.put("p50Ms", percentileMs(h, 50));
                second.put("p99Ms", percentileMs(h, 99));
                timeline.add(second);
            }
        }
        result.put("timeline", timeline);
        result.put("heapPerIdleConnectionBytes", heapPerConn);
        result.put("gatewayHeapBeforeBytes", heapBefore);
        result.put("gatewayHeapAfterBytes", heapAfter);
        result.put("serverCloses", serverCloses.get());
        result.put("resets", resets.get());
        result.put("heartbeatsSeen", heartbeats.get());
        result.put("non200", non200.get());
        result.put("subscribesRetried", retried.get());
        result.put("connectErrors", connectErrors.get());
        Map<String, Long> lost = lost(o.connections, ready, expectedMeasured, deliveredMeasured.get(), publishErrors,
                serverCloses.get() - closesBeforeMeasure, resets.get());
        boolean complete = complete(lost, expectedMeasured);
        // first in the file: whoever reads the figures sees first whether they cover everything that was asked for
        Map<String, Object> ordered = new LinkedHashMap<>();
        ordered.put("complete", complete);
        ordered.put("lost", lost);
        ordered.putAll(result);
        result = ordered;
        String json = Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(result);
        System.out.println(json);
        Path out = Path.of(o.out != null ? o.out : "perf/results/sse-" + o.target.label() + "-" + Instant.now().toString().replace(':', '-') + ".json");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json + "\n");
        System.out.println("results written to " + out);
        synchronized (conns) {
            for (Conn c : conns) {
                c.channel.close();
            }
        }
        if (origin != null) {
            origin.close();
        }
        if (!complete) {
            System.out.println("INCOMPLETE: " + lost + " — the result is marked complete: false");
        }
        System.exit(complete ? 0 : 3);
    }

    private static Map<Long, ProcessStats> byProcess(List<Long> pids) {
        Map<Long, ProcessStats> m = new LinkedHashMap<>();
        pids.forEach(pid -> m.put(pid, ProcessStats.of(List.of(pid))));
        return m;
    }

    /**
     * Each serving process's CPU seconds in the measured window, and per 100k deliveries: ours counts the gateway and
     * Redis, and a Redis shared with other work (tests, other benchmarks) adds theirs, so the gateway's own share is
     * shown apart from it.
     */
    static List<Map<String, Object>> cpuByProcess(List<String> names, Map<Long, ProcessStats> start, Map<Long, ProcessStats> end, long delivered) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String name : names) {
            long pid = Long.parseLong(name.substring(0, name.indexOf(' ')));
            double cpu = end.get(pid).cpuSeconds() - start.get(pid).cpuSeconds();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("process", name);
            row.put("cpuSecondsMeasured", round(cpu));
            row.put("cpuSecondsPer100kDeliveries", delivered == 0 ? -1 : round(cpu / delivered * 100_000));
            rows.add(row);
        }
        return rows;
    }

    /** Each serving process's RSS before connecting and with the connections idle, and its growth per connection. */
    static List<Map<String, Object>> rssByProcess(List<String> names, Map<Long, ProcessStats> before, Map<Long, ProcessStats> idle, int ready) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String name : names) {
            long pid = Long.parseLong(name.substring(0, name.indexOf(' ')));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("process", name);
            row.put("rssBeforeBytes", before.get(pid).rssBytes());
            row.put("rssIdleBytes", idle.get(pid).rssBytes());
            row.put("rssPerIdleConnectionBytes", ready == 0 ? null : (idle.get(pid).rssBytes() - before.get(pid).rssBytes()) / ready);
            rows.add(row);
        }
        return rows;
    }

    /** What a run did not measure of what was asked: every count must be 0 for the run to be complete. */
    static Map<String, Long> lost(int connectionsRequested, int connectionsStreaming, long deliveriesExpected,
                                  long deliveriesMeasured, long publishErrors, long serverClosesWhileMeasuring, long resets) {
        Map<String, Long> lost = new LinkedHashMap<>();
        lost.put("connectionsNotStreaming", (long) connectionsRequested - connectionsStreaming);
        lost.put("deliveriesMissing", Math.max(0, deliveriesExpected - deliveriesMeasured));
        lost.put("publishErrors", publishErrors);
        lost.put("serverClosesWhileMeasuring", serverClosesWhileMeasuring);
        lost.put("resets", resets);
        // a measured phase in which nothing was published (the run too short for a slow machine) measured nothing
        lost.put("measuredPhaseWithoutEvents", deliveriesExpected > 0 ? 0L : 1L);
        return lost;
    }

    /** Complete: nothing lost, and something was expected at all (a run that published nothing measured nothing). */
    static boolean complete(Map<String, Long> lost, long deliveriesExpected) {
        return deliveriesExpected > 0 && lost.values().stream().allMatch(v -> v == 0);
    }

    /** A percentile in ms; null for an empty histogram (no delivery measured is not a latency of 0). */
    public static Double percentileMs(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /**
     * Every process on the target's serving path, named, for CPU and memory: the pids given with --server-pids, and for
     * ours also Redis (the streams the gateway tails live there, as nchan's buffer lives inside nginx). Refuses to run
     * without them: CPU of nothing would read as 0.
     */
    private List<String> servingPath() {
        List<Long> pids = servingPids(o.target, o.serverPids, this::redisPid);
        o.serverPids.clear();
        o.serverPids.addAll(pids);
        return requireServingProcess(o.target, ProcessStats.names(pids));
    }

    /**
     * The pids whose CPU and memory are counted: those given with --server-pids (required), and for ours Redis's too.
     */
    static List<Long> servingPids(Target target, List<Long> given, LongSupplier redisPid) {
        if (given.isEmpty()) {
            throw new IllegalArgumentException("--server-pids is required (every process serving " + target.label()
                    + "): without it the server's CPU and memory would read as 0; bin/csr bench fanout passes them");
        }
        List<Long> pids = new ArrayList<>(given);
        if (target == Target.OURS) {
            long redis = redisPid.getAsLong();
            if (!pids.contains(redis)) {
                pids.add(redis);
            }
        }
        return pids;
    }

    /** {@code names} ("pid comm", {@link ProcessStats#names}) when they hold the process that must serve the target. */
    static List<String> requireServingProcess(Target target, List<String> names) {
        String required = switch (target) {
            case OURS -> "redis-server";
            case NCHAN -> "nginx";
            case PUSHPIN -> "";
        };
        if (names.stream().noneMatch(n -> n.substring(n.indexOf(' ') + 1).startsWith(required))) {
            throw new IllegalArgumentException("no " + required + " process among " + names + ": it serves " + target.label()
                    + " and its CPU must count");
        }
        return names;
    }

    /** Redis's own pid (INFO server), which must be a process on this machine to be counted. */
    private long redisPid() {
        try (Jedis jedis = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
            Matcher m = Pattern.compile("process_id:(\\d+)").matcher(jedis.info("server"));
            if (!m.find()) {
                throw new IllegalStateException("Redis INFO server has no process_id");
            }
            long pid = Long.parseLong(m.group(1));
            if (!Files.exists(Path.of("/proc", Long.toString(pid)))) {
                throw new IllegalStateException("Redis at " + config.get(ConfigKey.REDIS_URL) + " runs as pid " + pid
                        + ", which is not a process on this machine: its CPU cannot be counted; run the benchmark beside Redis");
            }
            return pid;
        }
    }

    private final java.util.concurrent.ConcurrentLinkedQueue<Conn> pending = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private void selectLoop(Selector selector) {
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        byte[] arr = new byte[64 * 1024];
        try {
            while (true) {
                Conn p;
                while ((p = pending.poll()) != null) {
                    p.channel.register(selector, SelectionKey.OP_READ, p);
                }
                selector.select(100);
                for (SelectionKey key : selector.selectedKeys()) {
                    Conn c = (Conn) key.attachment();
                    buf.clear();
                    int n;
                    try {
                        n = c.channel.read(buf);
                    } catch (IOException e) {
                        n = -1;
                    }
                    if (n < 0) {
                        serverCloses.incrementAndGet();
                        c.ready = false;
                        key.cancel();
                        c.channel.close();
                        continue;
                    }
                    buf.flip();
                    buf.get(arr, 0, n);
                    c.parser.feed(arr, 0, n);
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            throw new IllegalStateException("selector loop failed", e);
        }
    }

    /**
     * Opens the connections round-robin over the companies, in batches of --connect-batch each awaited (≤ 10 s), and
     * awaits the answers of all (≤ 60 s); a selector thread reads every stream from the first connection on.
     */
    void connectAll(String host, int port, List<String> companies, Map<String, String> tokens) throws Exception {
        selector = Selector.open();
        Thread loop = new Thread(() -> selectLoop(selector), "sse-bench-selector");
        loop.setDaemon(true);
        loop.start();
        for (int i = 0; i < o.connections; i++) {
            open(i, companies.get(i % companies.size()), 0, host, port, tokens);
            if ((i + 1) % 1000 == 0) {
                System.out.printf("  %d connections opened%n", i + 1);
            }
            if ((i + 1) % o.connectBatch == 0) { // ramp in batches: every server sees the same bounded burst of new streams
                awaitAnswers(System.currentTimeMillis() + 10_000, host, port, tokens);
            }
        }
        awaitAnswers(System.currentTimeMillis() + 60_000, host, port, tokens);
    }

    /**
     * Opens connection {@code index} to the company's stream (attempt 0 first, a higher one after a refusal) and hands it
     * to the selector loop; false (counted) when the TCP connect fails.
     */
    private boolean open(int index, String company, int attempt, String host, int port, Map<String, String> tokens) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(true);
        try {
            ch.connect(new InetSocketAddress(host, port));
        } catch (IOException e) {
            connectErrors.incrementAndGet();
            ch.close();
            return false;
        }
        String req = "GET " + o.target.subscribePath(URI.create(o.url).getRawPath(), company) + " HTTP/1.1\r\nHost: " + host + ":" + port
                + "\r\nAccept: text/event-stream\r\n"
                + (o.target.needsToken() ? "Authorization: Bearer " + tokens.get(company) + "\r\n" : "") + "\r\n";
        ByteBuffer rb = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
        while (rb.hasRemaining()) {
            ch.write(rb);
        }
        ch.configureBlocking(false);
        Conn conn = new Conn(index, company, attempt, ch);
        synchronized (conns) {
            if (attempt == 0) {
                conns.add(conn);
            } else {
                conns.replaceAll(c -> c.index == index ? conn : c);
            }
        }
        pending.add(conn);
        selector.wakeup();
        return true;
    }

    /**
     * Until every connection opened so far streams or was given up, or the deadline: a subscribe refused (other than 200)
     * with attempts left is closed and opened again, as a reconnecting client would.
     */
    private void awaitAnswers(long deadline, String host, int port, Map<String, String> tokens) throws Exception {
        while (System.currentTimeMillis() < deadline && readyCount() + non200.get() < conns.size()) {
            Conn c;
            while ((c = refused.poll()) != null) {
                c.channel.close();
                retried.incrementAndGet();
                open(c.index, c.company, c.attempt + 1, host, port, tokens);
            }
            Thread.sleep(10);
        }
    }

    int readyCount() {
        int n = 0;
        synchronized (conns) {
            for (Conn c : conns) {
                if (c.ready) {
                    n++;
                }
            }
        }
        return n;
    }

    private String token(String company) {
        return DevToken.forCompany(o.jwtSecret, company);
    }

    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    /** Heap used by the gateway after a full GC, from jcmd (same JDK family as the gateway). */
    static long heapUsedAfterGc(long pid) throws Exception {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        exec(jcmd, Long.toString(pid), "GC.run");
        exec(jcmd, Long.toString(pid), "GC.run");
        String info = exec(jcmd, Long.toString(pid), "GC.heap_info");
        Matcher m = USED.matcher(info);
        if (!m.find()) {
            throw new IllegalStateException("cannot read heap usage from jcmd GC.heap_info:\n" + info);
        }
        return Long.parseLong(m.group(1)) * 1024;
    }

    private static String exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    /** The global sequence number the publisher put in {@code version} of the payload; -1 when there is none. */
    public static long sequenceOf(String data) {
        int at = data.indexOf("\"version\":");
        if (at < 0) {
            return -1;
        }
        long v = 0;
        boolean any = false;
        for (int i = at + 10; i < data.length(); i++) {
            char ch = data.charAt(i);
            if (ch < '0' || ch > '9') {
                break;
            }
            v = v * 10 + (ch - '0');
            any = true;
        }
        return any ? v : -1;
    }

    public static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "n/a";
        }
    }

    private static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memoryBytes", ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize());
        m.put("java", System.getProperty("java.version"));
        m.put("note", "client, gateway and Redis share this machine");
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /** The client's command line, on the CLI contract (io.csr.common.cli.Cli); bin/csr bench sse and fanout run it. */
    @Command(name = "bench sse", mixinStandardHelpOptions = true, description = "SSE fan-out: connections held, events published, latency measured.")
    static final class Options implements java.util.concurrent.Callable<Integer> {
        @Option(names = "--url", paramLabel = "URL", description = "the server's subscribe URL (default: ${DEFAULT-VALUE})")
        String url = "http://127.0.0.1:8080/stream/updates";
        @Option(names = "--connections", paramLabel = "N", description = "connections held (default: ${DEFAULT-VALUE})")
        int connections = 1000;
        @Option(names = "--companies", paramLabel = "N", description = "companies the connections and events spread over (default: ${DEFAULT-VALUE})")
        int companies = 50;
        @Option(names = "--rate", paramLabel = "N", description = "events per second (default: ${DEFAULT-VALUE})")
        int rate = 1000;
        @Option(names = "--seconds", paramLabel = "N", description = "measured seconds (default: ${DEFAULT-VALUE})")
        int seconds = 30;
        @Option(names = "--warmup", paramLabel = "N", description = "warm-up seconds (default: ${DEFAULT-VALUE})")
        int warmupSeconds = 5;
        @Option(names = "--settle", paramLabel = "N", description = "seconds for the last deliveries after publishing stops (default: ${DEFAULT-VALUE})")
        int settleSeconds = 5;
        @Option(names = "--gateway-pid", paramLabel = "PID", description = "the gateway's pid, for heap per connection")
        long gatewayPid = -1;
        @Option(names = "--jwt-secret", paramLabel = "SECRET", description = "HS256 secret of the tokens (default: the dev secret of the environment)")
        String jwtSecret = DevToken.secretFromEnvironment();
        @Option(names = "--company-prefix", paramLabel = "P", description = "prefix of the company ids (default: ${DEFAULT-VALUE})")
        String companyPrefix = "bench";
        @Option(names = "--out", paramLabel = "FILE", description = "where the JSON goes")
        String out;
        @Option(names = "--target", paramLabel = "T", description = "ours, nchan or pushpin (default: ${DEFAULT-VALUE})")
        Target target = Target.OURS;
        @Option(names = "--publish-url", paramLabel = "URL", description = "where a peer takes publishes (ours publishes to Redis)")
        String publishUrl;
        List<Long> serverPids = new ArrayList<>();
        @Option(names = "--origin-port", paramLabel = "PORT", description = "Pushpin's origin port (default: ${DEFAULT-VALUE})")
        int originPort = 18109;
        /** Connections opened before waiting for their answers; Pushpin's proxy refused more of bursts of ≈ 1,000 (see --subscribe-retries). */
        @Option(names = "--connect-batch", paramLabel = "N", description = "connections opened before awaiting their answers (default: ${DEFAULT-VALUE})")
        int connectBatch = 250;
        /**
         * Subscribes answered other than 200 opened again (per connection), as a reconnecting client does: Pushpin's proxy
         * answers 502/500 to a few percent of a burst of subscribes when its ZeroMQ hand-off to zurl or its handler is full.
         */
        @Option(names = "--subscribe-retries", paramLabel = "N", description = "times a subscribe answered other than 200 is opened again (default: ${DEFAULT-VALUE})")
        int subscribeRetries = 3;
        @Option(names = "--publish-threads", paramLabel = "N", description = "publishing threads (default: ${DEFAULT-VALUE})")
        int publishThreads = 4;

        @Option(names = "--gateway-metrics", split = ",", paramLabel = "URL,URL",
                description = "base URL of each gateway behind the URL (ours): Redis entries read per published entry from their /metrics")
        List<String> gatewayMetrics = new ArrayList<>();

        @Option(names = "--server-pids", paramLabel = "PID,PID", description = "the server's processes, for CPU and memory (blanks ignored)")
        void serverPids(String pids) {
            for (String pid : pids.split(",")) {
                if (!pid.isBlank()) {
                    serverPids.add(Long.parseLong(pid.trim()));
                }
            }
        }

        @Override
        public Integer call() throws Exception {
            new SseBench(this, CsrConfig.fromEnvironment()).run(); // exits with the run's verdict
            return 0;
        }
    }
}
