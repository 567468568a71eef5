package io.csr.perf.replay;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.cli.Cli;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.MetricUpdate;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.common.lb.LoadBalancedGateways;
import io.csr.common.redis.RedisKeys;
import io.csr.perf.sse.DevToken;
import io.csr.perf.sse.SseBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XAddParams;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * kill -9 of a gateway under load, behind the load balancer: N gateways of its own behind the real HAProxy
 * ({@link LoadBalancedGateways}, the configuration shipped in {@code deploy/}), {@code --streams} SSE streams through
 * the balancer spread over {@code --companies} companies ({@link ResumingStream}: reconnect after {@code retry} with
 * {@code Last-Event-ID}, as EventSource does), a publisher XADDing one update per company every {@code --interval-ms}
 * as the job does. After {@code --before-seconds} the gateway holding the most streams is killed (SIGKILL); the
 * publisher goes on. The check: every stream's ids are exactly the ids published for its company (no gap, no repeat,
 * in order, no reset; {@link FailoverVerdict}), and how long until every cut-off stream had resumed. Its own Redis key
 * prefix (deleted at the end); results as JSON (exit 3 when the check failed).
 * <pre>
 * FailoverBench --gateways 3 --streams 3000 --companies 150 --out perf/results/failover-STAMP.json
 * </pre>
 */
public final class FailoverBench {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Streams opened before waiting for their answers: every gateway sees a bounded burst of new streams. */
    private static final int CONNECT_BATCH = 250;

    /** What one run asks for. */
    public record Settings(String gatewayClasspath, int gateways, int streams, int companies, int intervalMs, int beforeSeconds,
                           int afterSeconds, int timeoutSeconds, boolean resumeById, Path work) {
        public Settings {
            if (gateways < 2) {
                throw new IllegalArgumentException("--gateways " + gateways + ": a failover needs at least 2 (one is killed)");
            }
            if (companies < 1 || streams < companies) {
                throw new IllegalArgumentException("--streams " + streams + " over --companies " + companies
                        + ": give at least one company and at least one stream per company");
            }
            if (intervalMs < 10) {
                throw new IllegalArgumentException("--interval-ms " + intervalMs + " is below 10 ms; one update per company every 10 ms or slower");
            }
        }
    }

    private final Settings s;
    private final CsrConfig config;
    private final String prefix = "csrfailover" + Long.toString(System.nanoTime() % 1_000_000_000L, 36) + ":";
    private final Map<String, List<String>> published = new ConcurrentHashMap<>();

    private FailoverBench(Settings s, CsrConfig config) {
        this.s = s;
        this.config = config;
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    /** Runs the check; the result row (its {@code complete} says whether every stream resumed exactly). */
    public static Map<String, Object> run(Settings settings) throws Exception {
        return new FailoverBench(settings, CsrConfig.fromEnvironment()).run();
    }

    /** The gateway's jar and runtime class path as the build wrote them under {@code root/gateway/target}. */
    public static String gatewayClasspath(Path root) throws IOException {
        Path target = root.resolve("gateway/target");
        Path jar = target.resolve("csr-gateway-0.1.0-SNAPSHOT.jar");
        Path cp = target.resolve("classpath.txt");
        if (!Files.isRegularFile(jar) || !Files.isRegularFile(cp)) {
            throw new IllegalStateException(jar + " or " + cp + " is missing: build first (bin/csr build, or mvn -o -DskipTests verify)");
        }
        return jar + File.pathSeparator + Files.readString(cp).strip();
    }

    private Map<String, Object> run() throws Exception {
        String loadBefore = SseBench.loadAverage();
        Map<String, String> env = new HashMap<>();
        env.put(ConfigKey.REDIS_KEY_PREFIX.name(), prefix);
        env.put(ConfigKey.STREAM_MAX_CONNECTIONS.name(), Integer.toString(2 * s.streams() + 100));
        env.put(ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY.name(), Integer.toString(2 * s.streams() + 100));
        // streams only: no refresh schedules competing for the machine (they are another test's)
        env.put(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "0");
        env.put(ConfigKey.COHORT_RULE_REFRESH_SECONDS.name(), "0");
        env.put(ConfigKey.COHORT_MONTH_REFRESH_SECONDS.name(), "0");
        List<ResumingStream> streams = new ArrayList<>();
        Files.createDirectories(s.work());
        try (LoadBalancedGateways lb = LoadBalancedGateways.start(s.gatewayClasspath(), env, s.work(), s.gateways(),
                LoadBalancedGateways.TEST_JVM_OPTIONS, s.streams() + 200);
             Jedis redis = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
            try {
                return underLoad(lb, streams, loadBefore);
            } finally {
                streams.forEach(ResumingStream::stop);
                RedisKeys.deleteUnder(redis, prefix);
            }
        }
    }

    private Map<String, Object> underLoad(LoadBalancedGateways lb, List<ResumingStream> streams, String loadBefore) throws Exception {
        String secret = DevToken.secretFromEnvironment();
        URI url = URI.create(lb.url() + "/stream/updates");
        List<String> companies = new ArrayList<>();
        Map<String, String> tokens = new HashMap<>();
        for (int c = 0; c < s.companies(); c++) {
            String company = "fo" + c;
            companies.add(company);
            tokens.put(company, DevToken.forCompany(secret, company));
            published.put(company, new ArrayList<>());
        }
        long openStart = System.nanoTime();
        for (int i = 0; i < s.streams(); i++) {
            String company = companies.get(i % companies.size());
            ResumingStream stream = new ResumingStream(url, company, tokens.get(company), s.resumeById());
            streams.add(stream);
            stream.start();
            if ((i + 1) % CONNECT_BATCH == 0 || i + 1 == s.streams()) {
                int opened = i + 1;
                await(() -> streams.stream().limit(opened).allMatch(x -> x.connects() > 0), s.timeoutSeconds(),
                        () -> opened + " streams connected through the balancer");
            }
        }
        double openSeconds = (System.nanoTime() - openStart) / 1e9;
        System.out.printf("%,d streams over %d companies open through the balancer in %.1f s%n", s.streams(), s.companies(), openSeconds);

        Publisher publisher = new Publisher(companies);
        Thread pub = Thread.ofPlatform().name("failover-publisher").start(publisher);
        long killAt;
        Map<String, Integer> publishedAtKill = new HashMap<>();
        int victim;
        Map<String, Long> perNode;
        try {
            Thread.sleep(TimeUnit.SECONDS.toMillis(s.beforeSeconds())); // load before the kill: nothing to await but the clock
            perNode = streamsPerNode(lb, secret);
            victim = busiest(perNode);
            synchronized (published) {
                companies.forEach(c -> publishedAtKill.put(c, published.get(c).size()));
                killAt = System.nanoTime();
            }
            lb.kill(victim);
            System.out.printf("killed gateway %d (kill -9) holding %d of the streams %s%n", victim, perNode.get("gateway-" + victim), perNode);
            long cut = perNode.get("gateway-" + victim);
            boolean resumed = awaitResumed(streams, killAt, cut, publishedAtKill);
            System.out.println(resumed ? "every stream cut by the kill is back and past the events published before it"
                    : "NOT every stream cut by the kill resumed within " + s.timeoutSeconds() + " s (the verdict says which)");
            Thread.sleep(TimeUnit.SECONDS.toMillis(s.afterSeconds())); // load after the resume, on the survivors
        } finally {
            publisher.stop();
            pub.join();
        }
        long settleDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(s.timeoutSeconds());
        while (System.nanoTime() < settleDeadline && !streams.stream().allMatch(x -> x.received() >= published.get(x.company).size())) {
            Thread.sleep(50);
        }
        streams.forEach(ResumingStream::stop);
        Map<String, Object> verdict = FailoverVerdict.of(streams.stream().map(ResumingStream::record).toList(), published,
                publishedAtKill, killAt);
        Map<String, Object> row = new LinkedHashMap<>(verdict);
        row.put("timestamp", Instant.now().toString());
        row.put("gateways", s.gateways());
        row.put("companies", s.companies());
        row.put("updateIntervalMsPerCompany", s.intervalMs());
        row.put("lastEventIdResume", s.resumeById());
        row.put("killedGateway", victim);
        row.put("streamsPerGatewayAtKill", perNode);
        row.put("openSeconds", Math.round(openSeconds * 10) / 10.0);
        row.put("loadAverageBefore", loadBefore);
        row.put("loadAverageAfter", SseBench.loadAverage());
        row.put("cores", Runtime.getRuntime().availableProcessors());
        row.put("note", "balancer, gateways, Redis, publisher and clients share this machine");
        return row;
    }

    /**
     * Until as many streams connected again after the kill as the killed gateway held ({@code cut}), and every stream
     * is connected and holds every event published before the kill; false when that took longer than the timeout.
     */
    private boolean awaitResumed(List<ResumingStream> streams, long killAt, long cut, Map<String, Integer> publishedAtKill)
            throws InterruptedException {
        long deadline = killAt + TimeUnit.SECONDS.toNanos(s.timeoutSeconds());
        while (System.nanoTime() < deadline) {
            if (streams.stream().filter(x -> x.connectedAfter(killAt)).count() >= cut
                    && streams.stream().allMatch(x -> x.connected() && x.received() >= publishedAtKill.get(x.company))) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** Each live gateway's open streams, by its own {@code /stream/stats} (an operator's token). */
    private static Map<String, Long> streamsPerNode(LoadBalancedGateways lb, String secret) throws Exception {
        String token = DevToken.forCompany(secret, "failover-operator", List.of("operator"));
        Map<String, Long> n = new LinkedHashMap<>();
        for (int i = 0; i < lb.nodes(); i++) {
            if (!lb.alive(i)) {
                continue;
            }
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(lb.gatewayUrl(i) + "/stream/stats"))
                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode stats = Json.mapper().readTree(res.body());
            if (res.statusCode() != 200 || !stats.has("connections")) {
                throw new IllegalStateException("gateway " + i + " /stream/stats answered " + res.statusCode() + ": " + res.body());
            }
            n.put("gateway-" + i, stats.get("connections").asLong());
        }
        return n;
    }

    private static int busiest(Map<String, Long> perNode) {
        String most = perNode.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        return Integer.parseInt(most.substring("gateway-".length()));
    }

    private static void await(BooleanSupplier condition, int timeoutSeconds, java.util.function.Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not within " + timeoutSeconds + " s (--timeout-seconds): " + what.get());
            }
            Thread.sleep(50);
        }
    }

    /**
     * One update per company every interval, XADDed in one pipeline per round as the job writes them, each company's
     * {@code version} counting 1, 2, 3, …; the ids Redis gave are recorded in order (under the lock of
     * {@link #published}, so the count at the kill is exact).
     */
    private final class Publisher implements Runnable {
        private final List<String> companies;
        private volatile boolean running = true;

        Publisher(List<String> companies) {
            this.companies = companies;
        }

        void stop() {
            running = false;
        }

        @Override
        public void run() {
            try (Jedis j = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
                long start = System.nanoTime();
                for (long round = 1; running; round++) {
                    Pipeline p = j.pipelined();
                    List<Response<StreamEntryID>> ids = new ArrayList<>(companies.size());
                    for (String company : companies) {
                        String data = Json.mapper().writeValueAsString(new MetricUpdate(company, "failover", "1m", Instant.now().toString(),
                                round, round, 0, round, 1, 1, 1, 1, 0, round, false));
                        ids.add(p.xadd(RedisStreams.updatesKey(prefix, company), XAddParams.xAddParams(),
                                Map.of(RedisStreams.FIELD_TYPE, "metric_updated", RedisStreams.FIELD_DATA, data)));
                    }
                    synchronized (published) {
                        p.sync();
                        for (int c = 0; c < companies.size(); c++) {
                            published.get(companies.get(c)).add(ids.get(c).get().toString());
                        }
                    }
                    long due = start + round * TimeUnit.MILLISECONDS.toNanos(s.intervalMs());
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** The client's command line, on the CLI contract (io.csr.common.cli.Cli); exit 3 when the check failed. */
    @Command(name = "failover-client", mixinStandardHelpOptions = true,
            description = "kill -9 of the busiest of N gateways behind HAProxy under load; bin/csr bench failover runs it.")
    static final class Options implements Callable<Integer> {
        @Option(names = "--gateways", paramLabel = "N", description = "gateways behind the balancer (default: ${DEFAULT-VALUE})")
        int gateways = 3;

        @Option(names = "--streams", paramLabel = "N", description = "SSE streams through the balancer (default: ${DEFAULT-VALUE})")
        int streams = 3_000;

        @Option(names = "--companies", paramLabel = "N", description = "companies the streams spread over (default: ${DEFAULT-VALUE})")
        int companies = 150;

        @Option(names = "--interval-ms", paramLabel = "MS", description = "one update per company every MS (default: ${DEFAULT-VALUE})")
        int intervalMs = 500;

        @Option(names = "--before-seconds", paramLabel = "S", description = "publishing before the kill (default: ${DEFAULT-VALUE})")
        int beforeSeconds = 5;

        @Option(names = "--after-seconds", paramLabel = "S", description = "publishing after every stream resumed (default: ${DEFAULT-VALUE})")
        int afterSeconds = 5;

        @Option(names = "--timeout-seconds", paramLabel = "S", description = "longest wait for streams to open, resume, catch up (default: ${DEFAULT-VALUE})")
        int timeoutSeconds = 90;

        @Option(names = "--without-last-event-id", description = "reconnect without Last-Event-ID: shows the check failing")
        boolean withoutLastEventId;

        @Option(names = "--gateway-classpath", paramLabel = "CP", description = "the gateway's class path (default: the checkout's build)")
        String gatewayClasspath;

        @Option(names = "--work-dir", paramLabel = "DIR", description = "HAProxy's configuration and the gateways' logs (default: a temporary directory)")
        Path work;

        @Option(names = "--out", paramLabel = "FILE", description = "where the JSON goes (default: perf/results/failover-<time>.json)")
        Path out;

        @Override
        public Integer call() throws Exception {
            Path root = Path.of(System.getProperty("csr.root", ".")).toAbsolutePath().normalize();
            Settings settings = new Settings(gatewayClasspath != null ? gatewayClasspath : gatewayClasspath(root), gateways, streams,
                    companies, intervalMs, beforeSeconds, afterSeconds, timeoutSeconds, !withoutLastEventId,
                    work != null ? work : Files.createTempDirectory("csr-failover-"));
            Map<String, Object> row = run(settings);
            String json = Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(row);
            System.out.println(json);
            Path file = out != null ? out : root.resolve("perf/results/failover-" + Instant.now().toString().replace(':', '-') + ".json");
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, json + "\n");
            System.out.println("results written to " + file + " (gateway and HAProxy logs under " + settings.work() + ")");
            boolean complete = (Boolean) row.get("complete");
            if (!complete) {
                System.out.println("INCOMPLETE: " + row.get("lost") + " — " + row.get("examples"));
            }
            return complete ? 0 : 3;
        }
    }
}
