package io.csr.ops.bench;

import io.csr.common.cli.CommandGroup;
import io.csr.common.cli.ConfigOverrides;
import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.lb.LoadBalancedGateways;
import io.csr.ops.MigrateCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code bin/csr bench …}: each benchmark's driver — what runs beside the client (its own gateway, job, peers), the
 * client JVM on its module's class path, the report — with results under perf/results. The clients themselves live in
 * perf/ (sse, cohort, jmh) and job's test classes (job ingest); options the driver does not name go to the client.
 */
@Command(name = "bench", description = "Benchmarks; results under perf/results (perf/README.md).",
        subcommands = {BenchCommands.Sse.class, BenchCommands.Cohort.class, BenchCommands.Jmh.class, BenchCommands.Job.class,
                BenchCommands.Ingest.class, BenchCommands.Backfill.class, BenchCommands.Fanout.class, BenchCommands.E2e.class,
                BenchCommands.Replay.class, BenchCommands.RedisMemory.class, BenchCommands.Failover.class})
public final class BenchCommands extends CommandGroup {
    /** Where the benchmark's own servers listen; read when a driver runs (a bad value fails that driver only). */
    private static final class Ports {
        static final int GATEWAY = intEnv("BENCH_GATEWAY_PORT", 18080);
        static final String REDIS_PREFIX = env("BENCH_REDIS_PREFIX", "csrbench:");
        // the peers' loopback ports: perf/peers/peers.sh reads the same variables with the same defaults
        static final int NCHAN = intEnv("NCHAN_PORT", 18090);
        static final int PUSHPIN = intEnv("PUSHPIN_PORT", 18100);
        static final int PUSHPIN_PUBLISH = intEnv("PUSHPIN_PUBLISH_PORT", 18101);
        static final int PUSHPIN_ORIGIN = intEnv("PUSHPIN_ORIGIN_PORT", 18109);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    private static int intEnv(String name, int fallback) {
        String v = env(name, String.valueOf(fallback));
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "='" + v + "' is not a port number");
        }
    }

    /** What a driver that generates load asks of every run; each driver gives its own defaults. */
    static final class Load {
        @Option(names = "--companies", paramLabel = "N", description = "companies the events (and connections) spread over (default: ${DEFAULT-VALUE})")
        int companies;

        @Option(names = "--seconds", paramLabel = "N", description = "measured seconds per run (default: ${DEFAULT-VALUE})")
        int seconds;

        @Option(names = "--warmup", paramLabel = "N", description = "warm-up seconds per run (default: ${DEFAULT-VALUE})")
        int warmup;

        Load(int companies, int seconds, int warmup) {
            this.companies = companies;
            this.seconds = seconds;
            this.warmup = warmup;
        }
    }

    /** How long a driver waits for the gateway or job it starts to be ready: minutes on a loaded machine. */
    static final class StartLimit {
        @Option(names = "--start-seconds", paramLabel = "S", defaultValue = "180",
                description = "longest wait for the benchmark's own gateway (and job) to be ready (default: ${DEFAULT-VALUE})")
        long seconds;

        java.time.Duration duration() {
            return java.time.Duration.ofSeconds(seconds);
        }
    }

    /** A driver: the checkout's processes and the client's own arguments. */
    abstract static class Driver extends CsrCommand {
        final Jvm jvm = Jvm.ofCheckout();

        String perfSse() throws Exception {
            return jvm.classpath("perf/sse", "csr-perf-sse");
        }

        void report(String... args) throws Exception {
            jvm.runOrFail(jvm.java(List.of(Jvm.LOW_PAUSE_GC), perfSse(), "io.csr.perf.report.BenchReport", List.of(args)), Map.of(), null, 600,
                    "the report could not be written");
        }
    }

    /** A driver that hands every option it does not name to its client ({@code clientArgs}). */
    abstract static class PassThrough extends Driver {
        @Unmatched
        List<String> clientArgs = new ArrayList<>();

        /** Announces the run and runs the client with its options; fails with {@code failure} unless it exits 0. */
        Integer runClient(String banner, List<String> jvmOptions, String classpath, String mainClass, String failure) throws Exception {
            System.out.println("==> " + banner);
            jvm.runOrFail(jvm.java(jvmOptions, classpath, mainClass, clientArgs), Map.of(), null, Long.MAX_VALUE, failure);
            return 0;
        }
    }

    @Command(name = "sse", mixinStandardHelpOptions = true,
            description = {"SSE fan-out against the running gateway (bin/csr start); writes perf/results/sse-*.json.",
                    "Client options (--connections 5000 --companies 50 --rate 1000 --seconds 60 …) go to io.csr.perf.sse.SseBench."})
    static final class Sse extends PassThrough {
        @Override
        public Integer call() throws Exception {
            CsrConfig c = config();
            String host = c.get(ConfigKey.GATEWAY_HOST).equals("0.0.0.0") ? "127.0.0.1" : c.get(ConfigKey.GATEWAY_HOST);
            String base = "http://" + host + ":" + c.get(ConfigKey.GATEWAY_PORT);
            if (Services.get(base + "/stream/health") != 200) {
                throw new IllegalStateException("no gateway answers at " + base + "/stream/health; start one: bin/csr start (or bin/csr run gateway)");
            }
            List<String> args = new ArrayList<>(List.of("--url", base + "/stream/updates"));
            Path pidFile = jvm.stateDir().resolve("run/gateway.pid");
            if (Files.isRegularFile(pidFile) && ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).isPresent()) {
                args.addAll(List.of("--gateway-pid", Files.readString(pidFile).strip()));
            } else {
                System.err.println("    warning: the gateway was not started by csr, so heap per connection cannot be measured (no pid)");
            }
            args.addAll(clientArgs);
            System.out.println("==> SSE fan-out benchmark against " + base + " (results under perf/results/)");
            return jvm.run(jvm.java(List.of(), perfSse(), "io.csr.perf.sse.SseBench", args), Map.of(), null, Long.MAX_VALUE);
        }
    }

    @Command(name = "cohort", mixinStandardHelpOptions = true,
            description = {"Cohort API latency per endpoint on generated data in ClickHouse database csr_bench_cohort; writes perf/results/cohort-*.json.",
                    "Client options (--rows 10000000 --users 100000 --cohorts 200 --requests 40 --range-days 30|365 "
                    + "--figures auto|observations --regenerate --layout compacted|as-inserted) go to "
                    + "io.csr.perf.cohort.CohortBench."})
    static final class Cohort extends PassThrough {
        @Override
        public Integer call() throws Exception {
            return runClient("Cohort API benchmark: generated data, in-process gateway (results under perf/results/)",
                    List.of("--enable-native-access=ALL-UNNAMED"), jvm.classpath("perf/cohort", "csr-perf-cohort"), "io.csr.perf.cohort.CohortBench",
                    "the benchmark failed; services up? bin/csr status");
        }
    }

    @Command(name = "jmh", mixinStandardHelpOptions = true,
            description = {"Microbenchmarks of the hot paths with allocation rates (-prof gc); writes perf/results/jmh-*.{json,md}.",
                    "JMH options (-wi 2 -i 3, a benchmark regex) go to JMH."})
    static final class Jmh extends PassThrough {
        @Override
        public Integer call() throws Exception {
            String stamp = Stamp.now();
            Path json = jvm.logDir().resolve("jmh-" + stamp + ".json");
            List<String> args = new ArrayList<>(List.of("-prof", "gc", "-rf", "json", "-rff", json.toString()));
            args.addAll(clientArgs);
            System.out.println("==> JMH: event parse + validate, sketch update, SSE frame encode, JSONEachRow encode (allocation with -prof gc)");
            String cp = jvm.root().resolve("perf/jmh/target/classes") + java.io.File.pathSeparator
                    + Files.readString(jvm.root().resolve("perf/jmh/target/classpath.txt")).strip();
            jvm.runOrFail(jvm.java(List.of(), cp, "org.openjdk.jmh.Main", args), Map.of(), null, 900, "JMH failed");
            report("jmh", json.toString(), jvm.results().resolve("jmh-" + stamp).toString());
            return 0;
        }
    }

    @Command(name = "job", mixinStandardHelpOptions = true,
            description = {"End-to-end job ingest (NATS publish -> committed ClickHouse rows, exactly-once); writes perf/results/job-ingest-*.json.",
                    "Options (--events N --checkpoint-ms MS --parallelism P --partitions N --mode live|backlog --state-backend "
                    + "hashmap|rocksdb --preload-ids N [--preload-savepoint DIR] [--preload-format native|canonical]) go to "
                    + "JobIngestBenchmark (perf/job-ingest/README.md)."})
    static class Job extends PassThrough {
        @Override
        public Integer call() throws Exception {
            String classpath = jobBenchClasspath(jvm);
            List<String> options = new ArrayList<>(List.of(Jvm.LOW_PAUSE_GC));
            options.addAll(jvm.flinkOpens());
            options.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                    "-Dlog4j2.configurationFile=" + jvm.root().resolve("job/src/main/config/log4j2-embedded.xml")));
            return runClient("Job ingest benchmark: NATS publish -> committed ClickHouse rows, exactly-once (results under perf/results/)",
                    options, classpath, "io.csr.job.perf.JobIngestBenchmark", "the benchmark failed; services up? bin/csr status");
        }
    }

    /** The job's benchmarks live in its test classes (io.csr.job.perf), beside the fixtures they share with the tests. */
    private static String jobBenchClasspath(Jvm jvm) throws java.io.IOException {
        Path testClasses = jvm.root().resolve("job/target/test-classes");
        if (!Files.isDirectory(testClasses.resolve("io/csr/job/perf"))) {
            throw new IllegalStateException("job test classes are missing; run bin/csr build");
        }
        return testClasses + java.io.File.pathSeparator + jvm.classpath("job", "csr-job");
    }

    @Command(name = "redis-memory", mixinStandardHelpOptions = true,
            description = {"Redis memory of the update streams at a steady rate with a count bound (REDIS_STREAM_MAXLEN), through the "
                    + "job's writer; exit 1 unless XLEN and the streams' bytes stay flat at the cap; writes perf/results/redis-memory-*.json.",
                    "Options (--minutes M --rate N --companies N --max-len N --sample-seconds S --redis URL) go to RedisMemoryBenchmark."})
    static final class RedisMemory extends PassThrough {
        @Override
        public Integer call() throws Exception {
            return runClient("Redis memory benchmark: steady updates through the job's writer, streams capped by MAXLEN ~", List.of("-Xmx512m"),
                    jobBenchClasspath(jvm), "io.csr.job.perf.RedisMemoryBenchmark", "the streams did not stay flat at the cap, or Redis failed (see above)");
        }
    }

    @Command(name = "ingest", mixinStandardHelpOptions = true, description = "The job ingest benchmark (bench job) under the issue's name.")
    static final class Ingest extends Job {
    }

    @Command(name = "backfill", mixinStandardHelpOptions = true,
            description = {"Backfill throughput: event_log rows -> committed ClickHouse rows (own schema and database); writes",
                    "perf/results/backfill-*.json. Options (--rows 500000) go to perf/backfill/run.sh."})
    static final class Backfill extends PassThrough {
        @Override
        public Integer call() throws Exception {
            List<String> cmd = new ArrayList<>(List.of(jvm.root().resolve("perf/backfill/run.sh").toString()));
            cmd.addAll(clientArgs);
            jvm.runOrFail(cmd, Map.of(), null, Long.MAX_VALUE, "the backfill benchmark failed");
            return 0;
        }
    }

    @Command(name = "fanout", mixinStandardHelpOptions = true,
            description = {"Ours vs nginx+nchan vs Pushpin, same client and load; one table + perf/results/fanout-*.{json,md} and report.html.",
                    "The peers are installed (apt) and run on loopback by perf/peers/peers.sh, our gateway on "
                    + "BENCH_GATEWAY_PORT (18080); all are stopped at the end."})
    static final class Fanout extends Driver {
        @Mixin
        StartLimit start = new StartLimit();

        @Option(names = "--connections", split = ",", paramLabel = "N,N", defaultValue = "1000,5000,10000",
                description = "connection counts, one run each (default: ${DEFAULT-VALUE})")
        List<Integer> connections;

        @Option(names = "--rate", paramLabel = "N", defaultValue = "200", description = "events per second (default: ${DEFAULT-VALUE})")
        int rate;

        @Mixin
        Load load = new Load(50, 15, 3);

        @Option(names = "--prewarm", paramLabel = "S", defaultValue = "20",
                description = "seconds of the first load each target runs once, unmeasured, before the measured runs; 0: none (default: ${DEFAULT-VALUE})")
        int prewarm;

        @Option(names = "--targets", split = ",", paramLabel = "T,T", defaultValue = "ours,nchan,pushpin", description = "servers to measure (default: ${DEFAULT-VALUE})")
        List<Target> targets;

        enum Target { ours, nchan, pushpin }

        @Option(names = "--gateways", split = ",", paramLabel = "N,N",
                description = {"ours only, through HAProxy in front of N gateways of its own, one set of runs per N (e.g. 1,3):",
                        "connections held, p99, Redis entries read per published entry, RSS per connection; writes "
                        + "perf/results/fanout-lb-*.json (the peers are not run). Without it: ours vs the peers, one gateway"})
        List<Integer> gateways = new ArrayList<>();

        /** SseBench's --url, --publish-url and --server-pids for a target. */
        private static List<String> targetArgs(Target t, Services services) throws Exception {
            return switch (t) {
                case ours -> List.of("--url", "http://127.0.0.1:" + Ports.GATEWAY + "/stream/updates",
                        "--gateway-pid", String.valueOf(services.gateway.pid()), "--server-pids", String.valueOf(services.gateway.pid()));
                case nchan -> List.of("--url", "http://127.0.0.1:" + Ports.NCHAN + "/sub", "--publish-url",
                        "http://127.0.0.1:" + Ports.NCHAN + "/pub", "--server-pids", services.peerPids("nchan"));
                case pushpin -> List.of("--url", "http://127.0.0.1:" + Ports.PUSHPIN + "/sub", "--publish-url",
                        "http://127.0.0.1:" + Ports.PUSHPIN_PUBLISH + "/publish/", "--origin-port", String.valueOf(Ports.PUSHPIN_ORIGIN),
                        "--server-pids", services.peerPids("pushpin"));
            };
        }

        private static final Pattern SHOWN = Pattern.compile("streaming after|per idle connection|\"p99\"|INCOMPLETE|counted for");

        /** One SseBench run against a target at this load, its output in {@code log} (replaced); its exit code. */
        private int sseBench(Target t, List<String> targetArgs, int connections, int seconds, int warmup, int settle, String companyPrefix,
                             Path out, Path log) throws Exception {
            List<String> args = new ArrayList<>(List.of("--target", t.name(), "--connections", String.valueOf(connections),
                    "--companies", String.valueOf(load.companies), "--rate", String.valueOf(rate), "--seconds", String.valueOf(seconds),
                    "--warmup", String.valueOf(warmup), "--settle", String.valueOf(settle), "--company-prefix", companyPrefix,
                    "--out", out.toString()));
            args.addAll(targetArgs);
            Files.deleteIfExists(log);
            // ours' serving path includes Redis: SseBench adds Redis's pid to the gateway's for CPU and memory
            return jvm.run(jvm.java(List.of("-Xmx2g"), perfSse(), "io.csr.perf.sse.SseBench", args),
                    Map.of("REDIS_KEY_PREFIX", Ports.REDIS_PREFIX), log, seconds + warmup + 150L);
        }

        @Override
        public Integer call() throws Exception {
            int most = connections.stream().mapToInt(Integer::intValue).max().orElse(0);
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean os
                    && os.getMaxFileDescriptorCount() < 2L * most + 100) {
                System.err.println("    warning: open-file limit " + os.getMaxFileDescriptorCount() + " is below what " + most
                        + " connections need (client + server side)");
            }
            if (!gateways.isEmpty()) {
                return throughTheBalancer(most);
            }
            String stamp = Stamp.now();
            Path run = Files.createDirectories(jvm.results().resolve("fanout-" + stamp + ".d"));
            int incomplete = 0;
            try (Services services = new Services(jvm, Map.of(), start.duration())) {
                System.out.println("==> Peers on loopback (nginx+nchan :" + Ports.NCHAN + ", Pushpin :" + Ports.PUSHPIN + "); ours on :" + Ports.GATEWAY);
                services.startPeers("all");
                services.startGateway(Ports.GATEWAY, Ports.REDIS_PREFIX);
                if (prewarm > 0) {
                    // Every server runs the same load once, unmeasured, before the measured runs: a freshly started JVM
                    // spends its first tens of seconds compiling its hot paths (the C2 compiler took a quarter of the
                    // gateway's CPU in a 1,000-connection run that came first), which is start-up, not the cost of a delivery.
                    int n = connections.get(0);
                    for (Target t : targets) {
                        System.out.printf("==> fanout warm-up (not measured): %d connections, %d events/s, %d s — %s%n", n, rate, prewarm, t);
                        Path log = jvm.logDir().resolve("bench-fanout-warmup-" + t + ".log");
                        if (sseBench(t, targetArgs(t, services), n, prewarm, 0, 1, "fanwarm", jvm.logDir().resolve("bench-fanout-warmup-" + t + ".json"), log) != 0) {
                            System.err.println("    warning: the " + t + " warm-up did not complete (log " + log + "); measuring anyway");
                        }
                    }
                }
                for (int i = 0; i < connections.size(); i++) {
                    int n = connections.get(i);
                    String companies = BalancedFanout.companyPrefix(i + 1, n);
                    for (Target t : targets) {
                        if (t == Target.ours) {
                            released();
                        }
                        System.out.printf("==> fanout: %d connections, %d events/s over %d companies, %d s measured — %s%n", n, rate,
                                load.companies, load.seconds, t);
                        Path log = jvm.logDir().resolve("bench-fanout-" + t + "-" + n + ".log");
                        if (sseBench(t, targetArgs(t, services), n, load.seconds, load.warmup, 3, companies, run.resolve(String.format("fanout-%05dc-%s.json", n, t)), log) != 0) {
                            incomplete++;
                            System.err.println("    warning: the " + t + " run at " + n + " connections was incomplete, failed or timed out "
                                    + "(log " + log + "); the report marks it");
                        }
                        Files.readAllLines(log).stream().filter(l -> SHOWN.matcher(l).find()).forEach(l -> System.out.println("    " + l.strip()));
                    }
                }
            }
            System.out.println("==> Fan-out results");
            report("fanout", run.toString(), jvm.results().resolve("fanout-" + stamp).toString(), "--expected",
                    String.join(",", connections.stream().map(String::valueOf).toList()),
                    String.join(",", targets.stream().map(Enum::name).toList()));
            if (incomplete > 0) {
                throw new IllegalStateException(incomplete + " of the runs were incomplete, failed or timed out; the table and the report mark them (complete: false)");
            }
            return 0;
        }

        /**
         * Ours through HAProxy in front of N gateways, for each N of --gateways: fresh gateways (the options bin/csr run
         * gateway gives one, the benchmark's Redis prefix and limits) and HAProxy with the shipped configuration per N, the
         * same warm-up and runs as the peers get, then one summary with the ratios of the most gateways to the fewest.
         */
        /**
         * Before each measured run of ours: until our gateway released the streams of the run before it (the warm-up or
         * the previous connection count). A peer releases a closed connection at once (nginx reads the client's FIN);
         * our gateway never reads a stream's socket, so it finds a closed one at its next write (the heartbeat, up to
         * three of them, see BalancedFanout#awaitNoStreams). Measured without this wait, the previous run's teardown
         * (1,000–5,000 failed writes, their exceptions and closes, and the compiling of that path) fell inside our
         * measured window and no peer's: 27 % of the allocation and most of the C2 compiler's time in a 1,000-connection run.
         */
        private static void released() throws Exception {
            long s = System.nanoTime();
            long open = BalancedFanout.awaitNoStreams(List.of("http://127.0.0.1:" + Ports.GATEWAY), java.time.Duration.ofSeconds(75));
            if (open > 0) {
                System.err.println("    warning: the gateway still holds " + open + " streams of the previous run after 75 s; measuring anyway");
            } else {
                System.out.printf("    the gateway holds no stream of the previous run (waited %.1f s)%n", (System.nanoTime() - s) / 1e9);
            }
        }

        /** Before a run on gateways a warm-up or a run used: until they hold none of its streams (see BalancedFanout#awaitNoStreams). */
        private static void drained(LoadBalancedGateways lb) throws Exception {
            long s = System.nanoTime();
            long open = BalancedFanout.awaitNoStreams(lb, java.time.Duration.ofSeconds(75));
            if (open > 0) {
                System.err.println("    warning: the gateways still hold " + open + " streams of the previous run after 75 s; measuring anyway");
            } else {
                System.out.printf("    the gateways hold no stream of the previous run (waited %.1f s)%n", (System.nanoTime() - s) / 1e9);
            }
        }

        private int throughTheBalancer(int most) throws Exception {
            for (int n : gateways) {
                if (n < 1) {
                    throw new IllegalArgumentException("--gateways " + n + ": give at least 1 gateway per run (e.g. --gateways 1,3)");
                }
            }
            String stamp = Stamp.now();
            Path run = Files.createDirectories(jvm.results().resolve("fanout-lb-" + stamp + ".d"));
            String classpath = jvm.classpath("gateway", "csr-gateway");
            Map<String, String> env = Map.of("REDIS_KEY_PREFIX", Ports.REDIS_PREFIX, "STREAM_MAX_CONNECTIONS", "30000",
                    "STREAM_MAX_CONNECTIONS_PER_COMPANY", "30000", "ANALYTICS_REFRESH_SECONDS", "0", "COHORT_RULE_REFRESH_SECONDS", "0",
                    "COHORT_MONTH_REFRESH_SECONDS", "0");
            List<Path> results = new ArrayList<>();
            int incomplete = 0;
            for (int n : gateways) {
                Path dir = jvm.logDir().resolve("bench-fanout-lb-" + stamp + "-" + n + "g");
                System.out.printf("==> %d gateway(s) behind HAProxy (logs %s)%n", n, dir);
                try (LoadBalancedGateways lb = LoadBalancedGateways.start(classpath, env, dir, n,
                        List.of(Jvm.LOW_PAUSE_GC, "--enable-native-access=ALL-UNNAMED"), most + 500)) {
                    List<String> args = BalancedFanout.clientArgs(lb);
                    Map<Long, Long> fresh = BalancedFanout.freshRss(lb);
                    if (prewarm > 0) {
                        int c = connections.get(0);
                        System.out.printf("==> fanout warm-up (not measured): %d connections, %d events/s, %d s — %d gateway(s)%n", c, rate, prewarm, n);
                        Path log = jvm.logDir().resolve("bench-fanout-lb-warmup-" + n + "g.log");
                        if (sseBench(Target.ours, args, c, prewarm, 0, 1, "fanwarm", jvm.logDir().resolve("bench-fanout-lb-warmup.json"), log) != 0) {
                            System.err.println("    warning: the warm-up did not complete (log " + log + "); measuring anyway");
                        }
                    }
                    for (int i = 0; i < connections.size(); i++) {
                        int c = connections.get(i);
                        drained(lb);
                        System.out.printf("==> fanout through the balancer: %d connections, %d events/s over %d companies, %d s measured — %d gateway(s)%n",
                                c, rate, load.companies, load.seconds, n);
                        Path log = jvm.logDir().resolve("bench-fanout-lb-" + n + "g-" + c + ".log");
                        Path out = run.resolve(String.format("fanout-lb-%02dg-%05dc.json", n, c));
                        if (sseBench(Target.ours, args, c, load.seconds, load.warmup, 3, BalancedFanout.companyPrefix(i + 1, c), out, log) != 0) {
                            incomplete++;
                            System.err.println("    warning: the run at " + c + " connections on " + n + " gateway(s) was incomplete, failed or timed out (log " + log + ")");
                        }
                        if (Files.isRegularFile(out)) {
                            BalancedFanout.addFreshRss(out, fresh);
                            results.add(out);
                        }
                        Files.readAllLines(log).stream().filter(l -> SHOWN.matcher(l).find()).forEach(l -> System.out.println("    " + l.strip()));
                    }
                }
            }
            Map<String, Object> summary = BalancedFanout.summary(results);
            String json = Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(summary);
            Path file = jvm.results().resolve("fanout-lb-" + stamp + ".json");
            Files.writeString(file, json + "\n");
            System.out.println("==> Fan-out through the balancer (" + file + ")");
            System.out.println(json);
            if (incomplete > 0) {
                throw new IllegalStateException(incomplete + " of the runs were incomplete, failed or timed out; " + file + " marks them (complete: false)");
            }
            return 0;
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = {"A client misses N events and resumes with Last-Event-ID: time until caught up, gaps, repeats;",
                    "ours vs nginx+nchan; writes perf/results/replay-*.{json,md} and report.html."})
    static final class Replay extends Driver {
        @Mixin
        StartLimit start = new StartLimit();

        @Option(names = "--missed", paramLabel = "N", defaultValue = "10000", description = "events the client misses (default: ${DEFAULT-VALUE})")
        int missed;

        @Option(names = "--repeats", paramLabel = "N", defaultValue = "3", description = "runs per target (default: ${DEFAULT-VALUE})")
        int repeats;

        @Option(names = "--targets", split = ",", paramLabel = "T,T", defaultValue = "ours,nchan", description = "servers to measure (default: ${DEFAULT-VALUE})")
        List<Target> targets;

        enum Target { ours, nchan }

        @Override
        public Integer call() throws Exception {
            String stamp = Stamp.now();
            Path run = Files.createDirectories(jvm.results().resolve("replay-" + stamp + ".d"));
            int incomplete = 0;
            try (Services services = new Services(jvm, Map.of(), start.duration())) {
                System.out.println("==> Replay after " + missed + " missed events: ours (:" + Ports.GATEWAY + ") vs nginx+nchan (:" + Ports.NCHAN + ")");
                services.startPeers("nchan");
                services.startGateway(Ports.GATEWAY, Ports.REDIS_PREFIX);
                for (Target t : targets) {
                    List<String> args = new ArrayList<>(List.of("--target", t.name(), "--missed", String.valueOf(missed),
                            "--repeats", String.valueOf(repeats), "--out", run.resolve("replay-" + t + ".json").toString()));
                    args.addAll(t == Target.ours ? List.of("--url", "http://127.0.0.1:" + Ports.GATEWAY + "/stream/updates")
                            : List.of("--url", "http://127.0.0.1:" + Ports.NCHAN + "/sub", "--publish-url", "http://127.0.0.1:" + Ports.NCHAN + "/pub"));
                    int rc = jvm.run(jvm.java(List.of(), perfSse(), "io.csr.perf.replay.ReplayBench", args),
                            Map.of("REDIS_KEY_PREFIX", Ports.REDIS_PREFIX), null, repeats * 120L + 30);
                    if (rc != 0) {
                        incomplete++;
                        System.err.println("    warning: the " + t + " replay was incomplete, failed or timed out (output above); the report marks it");
                    }
                }
            }
            report("replay", run.toString(), jvm.results().resolve("replay-" + stamp).toString(), "--expected",
                    String.join(",", targets.stream().map(Enum::name).toList()));
            if (incomplete > 0) {
                throw new IllegalStateException(incomplete + " of the replays were incomplete, failed or timed out; the table and the report mark them (complete: false)");
            }
            return 0;
        }
    }

    @Command(name = "failover", mixinStandardHelpOptions = true,
            description = {"kill -9 of the busiest of N gateways behind HAProxy with S streams open and the publisher running: every",
                    "stream must resume by Last-Event-ID with exactly its company's ids (no gap, no repeat); how long until all resumed.",
                    "Writes perf/results/failover-*.json. Client options (--gateways 3 --streams 3000 --companies 150 --interval-ms 500 "
                    + "--before-seconds 5 --after-seconds 5 --timeout-seconds 90, --without-last-event-id to see the check fail) go to "
                    + "io.csr.perf.replay.FailoverBench, which starts the gateways and HAProxy itself (own Redis key prefix)."})
    static final class Failover extends PassThrough {
        @Override
        public Integer call() throws Exception {
            String stamp = Stamp.now();
            Path out = jvm.results().resolve("failover-" + stamp + ".json");
            List<String> args = new ArrayList<>(List.of("--gateway-classpath", jvm.classpath("gateway", "csr-gateway"),
                    "--work-dir", jvm.logDir().resolve("bench-failover-" + stamp).toString(), "--out", out.toString()));
            args.addAll(clientArgs);
            System.out.println("==> Failover: kill -9 of a gateway behind HAProxy under load (results under perf/results/)");
            int rc = jvm.run(jvm.java(List.of("-Xmx1g"), perfSse(), "io.csr.perf.replay.FailoverBench", args), Map.of(), null, Long.MAX_VALUE);
            if (rc != 0) {
                throw new IllegalStateException("the failover check failed (exit " + rc + "; output above, result " + out
                        + "): a stream lost or repeated an event, or did not resume");
            }
            return 0;
        }
    }

    @Command(name = "e2e", mixinStandardHelpOptions = true,
            description = {"NATS publish -> job -> gateway -> SSE frame latency, per hop; writes perf/results/e2e-*.json and report.html.",
                    "The job, the gateway and the stream are the benchmark's own (stream CSR_BENCH_E2E, database "
                    + "csr_bench_e2e, REST on BENCH_FLINK_PORT 18081), stopped at the end; KEY=VALUE settings go to the "
                    + "job."})
    static final class E2e extends Driver {
        @Mixin
        StartLimit start = new StartLimit();

        @Option(names = "--rates", split = ",", paramLabel = "R,R", defaultValue = "1,1000", description = "events per second, one run each (default: ${DEFAULT-VALUE})")
        List<Integer> rates;

        @Mixin
        Load load = new Load(10, 20, 15);

        @Option(names = "--metrics", paramLabel = "N", defaultValue = "4", description = "metrics per company (default: ${DEFAULT-VALUE})")
        int metrics;

        @Mixin
        ConfigOverrides settings;

        @Override
        public Integer call() throws Exception {
            settings.map(); // every KEY a configuration key
            Path state = jvm.stateDir().resolve("bench-e2e");
            String rest = "http://127.0.0.1:" + intEnv("BENCH_FLINK_PORT", 18081);
            Map<String, String> env = new HashMap<>(Map.of("NATS_STREAM", "CSR_BENCH_E2E", "NATS_SUBJECT_PREFIX", "bench_e2e.",
                    "CLICKHOUSE_DATABASE", "csr_bench_e2e", "REDIS_KEY_PREFIX", "csrbench_e2e:", "JOB_NAME", "csr-bench-e2e",
                    "FLINK_REST_URL", rest, "CHECKPOINT_DIR", state.resolve("checkpoints").toString(),
                    "SAVEPOINT_DIR", state.resolve("savepoints").toString()));
            Files2.deleteRecursively(state);
            String label = settings.raw().isEmpty() ? "defaults" : String.join(" ", settings.raw());
            System.out.println("==> End-to-end: NATS publish -> job -> Redis -> gateway -> SSE (settings: " + label + ")");
            MigrateCommand.migrateAll(config().with(env));
            List<String> gc = List.of(Jvm.LOW_PAUSE_GC);
            Services services = new Services(jvm, env, start.duration());
            try {
                jvm.runOrFail(jvm.java(gc, perfSse(), "io.csr.perf.e2e.E2eBench", List.of("prepare")), env, null, 120,
                        "could not create the benchmark's NATS stream; is NATS up? bin/csr status");
                services.startJob(rest, settings.raw());
                services.startGateway(Ports.GATEWAY, env.get("REDIS_KEY_PREFIX"));
                jvm.runOrFail(jvm.java(gc, perfSse(), "io.csr.perf.e2e.E2eBench", List.of("run", "--url",
                        "http://127.0.0.1:" + Ports.GATEWAY + "/stream/updates", "--rates", String.join(",", rates.stream().map(String::valueOf).toList()),
                        "--seconds", String.valueOf(load.seconds), "--warmup", String.valueOf(load.warmup), "--companies", String.valueOf(load.companies),
                        "--metrics", String.valueOf(metrics), "--label", label,
                        "--out", jvm.results().resolve("e2e-" + Stamp.now() + ".json").toString())), env, null, Long.MAX_VALUE, "the client failed");
            } finally {
                services.close();
                jvm.run(jvm.java(gc, perfSse(), "io.csr.perf.e2e.E2eBench", List.of("cleanup")), env, null, 120);
            }
            report("html", jvm.results().toString());
            return 0;
        }
    }
}
