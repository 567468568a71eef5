package io.csr.job.perf;

import io.csr.common.cli.Cli;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import io.csr.job.CsrJob;
import io.csr.job.config.JobOptions;
import io.csr.job.runtime.JobLaunch;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.TestStream;
import io.nats.client.api.PublishAck;
import org.apache.flink.core.execution.JobClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sustained end-to-end ingest of the real job (embedded MiniCluster, exactly-once on): a publisher pushes
 * {@code --events} Contract 1 messages into a JetStream stream of its own as fast as NATS acknowledges them while the
 * job runs; the clock stops when ClickHouse shows every valid event committed. Reports events/s, the checkpoint
 * interval used, and where the CPU went (per Flink task thread). Results go to perf/results/job-ingest-DATE.json.
 *
 * <p>Run: {@code bin/csr bench job [--events 300000] [--checkpoint-ms 5000] [--parallelism 3] [--partitions 1] [--mode live|backlog]
 * [--state-backend hashmap|rocksdb] [--preload-ids N [--preload-savepoint DIR] [--preload-format native|canonical]]
 * [--label TEXT] [--max-minutes 15]}.
 * {@code live} (default): the publisher pushes while the job runs, the clock runs from the first publish to the last
 * committed row. {@code backlog}: everything is published first, the clock runs from job start: the job's own drain
 * rate. {@code --label} ends the result file's name; {@code --max-minutes} bounds the wait for the last commit.
 *
 * <p>{@code --preload-ids N} (issue 11: dedup state at production size, 24 h × 1,000 ev/s = 86,400,000): first writes
 * a savepoint with N ids in the dedup operator's state ({@link DedupStatePreload}; RocksDB, so the state backend is
 * rocksdb), then runs the job from it. 1,000 probe messages re-use preloaded ids and must all be dropped
 * ({@code --preload-ids 0} publishes the same number of new ids instead, which must all arrive: the control run).
 * The result adds the preload (ids, savepoint bytes, write time), the restore (the dedup task's INITIALIZING time,
 * submission to every task running), the probes and the disk used. {@code --preload-savepoint DIR} keeps the savepoint
 * there and reuses it on the next run with the same N (default: a temporary directory, deleted at the end).
 * {@code --preload-format native} (default) restores it once, waits for RocksDB's compactions and runs the job from a
 * native savepoint of that ({@link NativePreload}: the settled state a job restarts with after a day); {@code canonical}
 * runs the job from the canonical savepoint itself, restore and compaction debt included.
 */
public final class JobIngestBenchmark {
    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    /** The benchmark's command line, on the CLI contract (io.csr.common.cli.Cli); bin/csr bench job hands it its options. */
    @Command(name = "bench job", mixinStandardHelpOptions = true, description = "End-to-end job ingest: NATS publish -> committed ClickHouse rows.")
    static final class Options implements Callable<Integer> {
        @Option(names = "--events", paramLabel = "N", description = "messages published (default: ${DEFAULT-VALUE})")
        int events = 300_000;
        @Option(names = "--checkpoint-ms", paramLabel = "MS", description = "CHECKPOINT_INTERVAL_MS of the run (default: ${DEFAULT-VALUE})")
        String checkpointMs = "5000";
        @Option(names = "--parallelism", paramLabel = "P", description = "JOB_PARALLELISM of the run (default: ${DEFAULT-VALUE})")
        String parallelism = "3";
        @Option(names = "--partitions", paramLabel = "N", description = "NATS_PARTITIONS of the run: with N > 1 the publisher uses "
                + "partitioned subjects and the source runs min(parallelism, 3 × (N + 1)) readers (default: ${DEFAULT-VALUE})")
        int partitions = 1;
        @Option(names = "--mode", paramLabel = "live|backlog", description = "publish while the job runs, or all before it starts (default: ${DEFAULT-VALUE})")
        String mode = "live";
        @Option(names = "--results", paramLabel = "DIR", description = "where the result goes (default: ${DEFAULT-VALUE})")
        Path results = Path.of("perf/results");
        @Option(names = "--label", paramLabel = "TEXT", description = "ends the result file's name")
        String label;
        @Option(names = "--max-minutes", paramLabel = "N", description = "longest wait for the last commit (default: ${DEFAULT-VALUE})")
        long maxMinutes = 15;
        @Option(names = "--preload-ids", paramLabel = "N", description = "dedup state preloaded with N ids (_ and , allowed in N)")
        String preloadIds;
        @Option(names = "--preload-savepoint", paramLabel = "DIR", description = "keep (and reuse) the preloaded savepoint here")
        Path preloadSavepoint;
        @Option(names = "--preload-format", paramLabel = "native|canonical", description = "how the preloaded savepoint is restored (default: ${DEFAULT-VALUE})")
        String preloadFormat = "native";
        @Option(names = "--state-backend", paramLabel = "hashmap|rocksdb", description = "default: rocksdb with --preload-ids, else hashmap")
        String stateBackend;

        @Override
        public Integer call() throws Exception {
            return run(this);
        }
    }

    /** Runs the benchmark; 0 for a complete run whose probes came out right, else 1 (the result is written either way). */
    private static int run(Options o) throws Exception {
        int events = o.events;
        String checkpointMs = o.checkpointMs;
        String parallelism = o.parallelism;
        boolean backlog = o.mode.equals("backlog");
        Path results = o.results;
        String label = o.label;
        long maxMinutes = o.maxMinutes; // until every event is committed
        long preloadIds = o.preloadIds != null ? Long.parseLong(o.preloadIds.replace("_", "").replace(",", "")) : -1;
        boolean preload = preloadIds >= 0;
        String preloadFormat = o.preloadFormat;
        if (!preloadFormat.equals("native") && !preloadFormat.equals("canonical")) {
            throw new IllegalArgumentException("--preload-format is native or canonical, got '" + preloadFormat + "'");
        }
        String backend = o.stateBackend != null ? o.stateBackend : preload ? "rocksdb" : "hashmap";
        if (preload && !backend.equals("rocksdb")) {
            throw new IllegalArgumentException("--preload-ids writes RocksDB state, but --state-backend is " + backend
                    + "; leave --state-backend out (rocksdb is the default with --preload-ids)");
        }

        long eventTimeStart = Instant.now().minus(Duration.ofMinutes(60)).toEpochMilli();
        EventFixture fixture = new EventFixture(events, DedupStatePreload.COMPANIES, eventTimeStart,
                Duration.ofMinutes(55).toMillis(), 0.05, 0.02, 2026);
        int partitions = io.csr.common.contract.EventSubjects.requirePartitions(o.partitions);
        List<EventFixture.Message> messages = EventFixture.withPartitions(fixture.messages(), partitions);
        int sourceParallelism = io.csr.job.runtime.JobLaunch.sourceParallelism(Integer.parseInt(parallelism),
                partitions == 1 ? 3 : 3 * (partitions + 1));
        int probes = 0;
        long probesExpected = 0;
        if (preload) { // probes spread over the first 90% of the stream, so the last commit comes after all of them
            probes = PRELOAD_PROBES;
            probesExpected = preloadIds > 0 ? 0 : probes;
            messages = interleave(messages, DedupStatePreload.probes(probes, preloadIds, eventTimeStart + 60_000));
        }
        IngestAccounting accounting = new IngestAccounting(fixture.messages(), probesExpected);
        long distinctValid = accounting.distinctValidEvents();
        int messageCount = messages.size();
        Path state = Files.createTempDirectory("csr-bench-");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        DiskUse disk = DiskUse.watch(state);

        int exitCode = 1;
        try (TestStream stream = new TestStream()) {
            CsrConfig config = CsrConfig.fromEnvironment().with(Map.of(
                    ConfigKey.NATS_STREAM.name(), stream.stream,
                    ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix,
                    ConfigKey.CLICKHOUSE_DATABASE.name(), "csr_bench_" + stream.id,
                    ConfigKey.REDIS_KEY_PREFIX.name(), "bench_" + stream.id + ":",
                    ConfigKey.CHECKPOINT_INTERVAL_MS.name(), checkpointMs,
                    ConfigKey.JOB_PARALLELISM.name(), parallelism,
                    ConfigKey.NATS_PARTITIONS.name(), String.valueOf(partitions),
                    ConfigKey.STATE_BACKEND.name(), backend,
                    ConfigKey.CSR_STATE_DIR.name(), state.toString(),
                    ConfigKey.FLINK_REST_URL.name(), "http://127.0.0.1:" + freePort()));
            ClickHouseSettings chSettings = ClickHouseSettings.from(config);
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                List<String> launchArgs = new ArrayList<>(List.of("--embedded", "--fresh"));
                Map<String, String> sections = new java.util.LinkedHashMap<>();
                if (preloadIds > 0) { // the job starts from a savepoint holding only the dedup operator's state
                    RuntimeOptions runtime = RuntimeOptions.from(config);
                    Path savepoint = o.preloadSavepoint != null ? o.preloadSavepoint.toAbsolutePath()
                            : state.resolve("preload-savepoint");
                    DedupStatePreload.Result p = DedupStatePreload.writeOrReuse(savepoint, preloadIds, runtime.parallelism(),
                            runtime.maxParallelism(), Duration.ofMillis(JobOptions.from(config).dedupTtlMs()), System.out);
                    String restoreFrom = savepoint.toUri().toString();
                    String nativeJson = "";
                    if (preloadFormat.equals("native")) { // the settled tree a day-old job restarts with, not the restore's debt
                        NativePreload.Result n = NativePreload.makeOrReuse(savepoint, preloadIds, savepoint.resolveSibling(
                                savepoint.getFileName() + "-native-p" + runtime.parallelism()), runtime,
                                Duration.ofMillis(JobOptions.from(config).dedupTtlMs()), System.out);
                        restoreFrom = n.savepoint().toUri().toString();
                        nativeJson = String.format(Locale.ROOT, ", \"native\": {\"savepointBytes\": %d, \"bytesPerId\": %.1f, "
                                        + "\"restoreAndSettleSeconds\": %.1f, \"savepointSeconds\": %.1f, \"reused\": %s}",
                                n.bytes(), (double) n.bytes() / p.ids(), n.settleSeconds(), n.savepointSeconds(), n.reused());
                    }
                    launchArgs.addAll(List.of("--from-savepoint", restoreFrom));
                    sections.put("preload", String.format(Locale.ROOT, "{\"ids\": %d, \"savepointBytes\": %d, \"bytesPerId\": %.1f, "
                                    + "\"writeSeconds\": %.1f, \"idsPerSecond\": %.0f, \"reused\": %s, \"writerParallelism\": %d, "
                                    + "\"maxParallelism\": %d, \"format\": \"%s\"%s}",
                            p.ids(), p.bytes(), (double) p.bytes() / p.ids(), p.writeSeconds(), p.idsPerSecond(), p.reused(),
                            runtime.parallelism(), runtime.maxParallelism(), preloadFormat.equals("native")
                                    ? "the job restores a native savepoint (RocksDB SST files) made by restoring the canonical preload once and waiting for its compactions"
                                    : "the job restores the canonical savepoint (State Processor API): every id re-inserted, compactions follow",
                            nativeJson));
                } else if (preload) {
                    sections.put("preload", "{\"ids\": 0}");
                }
                JobLaunch launch = JobLaunch.parse(launchArgs.toArray(String[]::new), config);
                long publishNanos = 0;
                if (backlog) { // everything is in the stream before the job starts: the job's own drain rate
                    publishNanos = publish(stream, messages);
                    System.out.printf(Locale.ROOT, "backlog: published %,d messages in %.1f s; starting the job%n", messageCount, publishNanos / 1e9);
                    // the job shares this JVM: the generated messages (~150 MB for 400k) must not weigh on its heap and GC
                    messages = null;
                    fixture = null;
                }
                String loadAtStart = CheckpointStats.loadAverage();
                long processCpuAtStart = processCpuMs();
                ServiceCpu services = ServiceCpu.start();
                long javaThreadsCpuAtStart = cpuByTask(threads).get(ALL_THREADS);
                long start = System.nanoTime();
                JobClient job = CsrJob.fromConfig(launch.config()).executeAsync(launch.environment());
                CheckpointStats checkpoints = new CheckpointStats(config.get(ConfigKey.FLINK_REST_URL), job.getJobID().toHexString());
                StartupStats startup = new StartupStats(config.get(ConfigKey.FLINK_REST_URL), start);
                startup.watch(job.getJobID().toHexString());
                try {
                    if (!backlog) { // live: the publisher pushes while the job runs
                        publishNanos = publish(stream, messages);
                    }
                    System.out.printf(Locale.ROOT, "published %,d messages in %.1f s (%,.0f msg/s)%n", messageCount,
                            publishNanos / 1e9, messageCount / (publishNanos / 1e9));
                    List<long[]> samples = new ArrayList<>();
                    long committed = 0;
                    long probesCommitted = 0;
                    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(maxMinutes);
                    while (!accounting.allCommitted(committed, probesCommitted) && System.nanoTime() < deadline) {
                        Thread.sleep(500);
                        // distinct fixture events, not rows: neither a batch re-inserted after a crash nor a probe the
                        // dedup state should have dropped may end the clock early
                        var counts = ch.query(IngestAccounting.committedSql()).get(0);
                        committed = counts.get("events").asLong();
                        probesCommitted = counts.get("probes").asLong();
                        checkpoints.poll();
                        samples.add(new long[]{System.nanoTime() - start, committed});
                        System.out.printf(Locale.ROOT, "  %5.1f s  %,d / %,d events committed%s%n",
                                (System.nanoTime() - start) / 1e9, committed, distinctValid,
                                startup.runningMs() < 0 ? "  (tasks starting" + (preloadIds > 0 ? ", restoring the preload)" : ")") : "");
                    }
                    IngestAccounting.Outcome outcome = accounting.outcome(committed, probesCommitted, (System.nanoTime() - start) / 1e9);
                    double seconds = outcome.seconds();
                    boolean complete = outcome.complete();
                    sections.put("lost", outcome.lostJson(maxMinutes));
                    Map<String, Long> servicesCpu = services.sinceStart(); // before the checks below query ClickHouse
                    long finalCount = ch.queryLong("SELECT count() FROM events FINAL");
                    Map<String, Long> cpu = cpuByTask(threads);
                    long processCpu = processCpuMs() - processCpuAtStart;
                    long javaThreadsCpu = cpu.remove(ALL_THREADS) - javaThreadsCpuAtStart;
                    sections.put("cpuMs", String.format(Locale.ROOT, "{\"process\": %d, \"javaThreads\": %d, \"other\": %d, \"what\": "
                            + "\"both from job submission on; other: what no Java thread ran: RocksDB flushes and compactions "
                            + "(native threads), GC, JIT\"}", processCpu, javaThreadsCpu, processCpu - javaThreadsCpu));
                    sections.put("servicesCpu", ServiceCpu.json(servicesCpu, messageCount, processCpu));
                    sections.put("cpuMsByKernelThreadName", Json.mapper().writeValueAsString(services.ownThreadsByNameSinceStart()));
                    sections.put("startup", startup.json());
                    boolean probesAsExpected = true;
                    if (preload) {
                        probesCommitted = ch.queryLong("SELECT count() FROM events FINAL WHERE user_id = '" + DedupStatePreload.PROBE_USER + "'");
                        probesAsExpected = probesCommitted == probesExpected;
                        sections.put("probes", String.format(Locale.ROOT, "{\"published\": %d, \"committedExpected\": %d, "
                                        + "\"committed\": %d, \"ok\": %s, \"what\": \"%s\"}", probes, probesExpected, probesCommitted,
                                probesAsExpected, preloadIds > 0 ? "valid events re-using preloaded ids: the restored dedup state must drop every one"
                                        : "the same number of valid events with new ids: all must arrive (control run)"));
                    }
                    sections.put("disk", disk.json(state));
                    sections.put("source", String.format(Locale.ROOT, "{\"natsPartitions\": %d, \"splits\": %d, \"sourceParallelism\": %d}",
                            partitions, partitions == 1 ? 3 : 3 * (partitions + 1), sourceParallelism));
                    String json = report(outcome, backlog ? "backlog" : "live", messageCount, distinctValid, finalCount, checkpointMs, parallelism, backend,
                            publishNanos / 1e9, seconds, steadyRate(samples), cpu, loadAtStart, checkpoints, preloadIds, startup, sections);
                    Files.createDirectories(results);
                    Path out = results.resolve("job-ingest-" + LocalDate.now() + "-" + (backlog ? "backlog" : "live") + "-p" + parallelism
                            + (partitions > 1 ? "-parts" + partitions : "") + "-cp" + checkpointMs + "-n" + events + (preload ? "-preload" + preloadIds : "") + (label == null ? "" : "-" + label)
                            + (complete ? "" : "-INCOMPLETE") + ".json");
                    Files.writeString(out, json);
                    System.out.println(json);
                    System.out.println("written " + out.toAbsolutePath());
                    if (!complete) {
                        System.err.println("INCOMPLETE: " + outcome.eventsLost() + " events and " + outcome.probesLost()
                                + " control probes not committed after " + maxMinutes + " min; the result is marked complete: false");
                    }
                    exitCode = outcome.exitCode(probesAsExpected);
                    if (!probesAsExpected) {
                        System.err.println("FAILED: probe events re-using preloaded ids reached ClickHouse (or control probes went missing); see \"probes\" above");
                    }
                } finally {
                    job.cancel().get(60, TimeUnit.SECONDS);
                    ch.dropDatabase();
                    deleteTree(state); // checkpoints (and a temporary preload savepoint): gigabytes at full size
                }
            }
        }
        return exitCode;
    }

    /** Probe messages re-using preloaded ids: 1,000 is enough to see one slip through, and adds 1% to a 100k run. */
    private static final int PRELOAD_PROBES = 1_000;

    /** {@code extra} spread evenly over the first 90% of {@code base}. */
    static List<EventFixture.Message> interleave(List<EventFixture.Message> base, List<EventFixture.Message> extra) {
        List<EventFixture.Message> out = new ArrayList<>(base.size() + extra.size());
        long span = (long) (base.size() * 0.9);
        int next = 0;
        for (int i = 0; i < base.size(); i++) {
            while (next < extra.size() && (long) next * span / extra.size() <= i) {
                out.add(extra.get(next++));
            }
            out.add(base.get(i));
        }
        out.addAll(extra.subList(next, extra.size()));
        return out;
    }

    private static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }

    /**
     * Disk the run used on the state directory's file system: the lowest free space seen (sampled every second) against
     * the free space at the start — savepoint, RocksDB working directories and checkpoints together (other processes
     * writing to the same disk count too) — and the state directory's own size at the end.
     */
    static final class DiskUse {
        private final java.nio.file.FileStore store;
        private final long freeAtStart;
        private volatile long minFree;

        private DiskUse(java.nio.file.FileStore store) throws java.io.IOException {
            this.store = store;
            this.freeAtStart = store.getUsableSpace();
            this.minFree = freeAtStart;
        }

        static DiskUse watch(Path dir) throws java.io.IOException {
            DiskUse d = new DiskUse(Files.getFileStore(dir));
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        d.minFree = Math.min(d.minFree, d.store.getUsableSpace());
                        Thread.sleep(1_000);
                    } catch (InterruptedException | java.io.IOException e) {
                        return;
                    }
                }
            }, "disk-use");
            t.setDaemon(true);
            t.start();
            return d;
        }

        String json(Path state) {
            return String.format(Locale.ROOT, "{\"peakUsedBytes\": %d, \"freeAtStartBytes\": %d, \"stateDirAtEndBytes\": %d}",
                    freeAtStart - minFree, freeAtStart, DedupStatePreload.sizeOnDisk(state));
        }
    }

    /** Publishes with up to 4,000 acks in flight; returns the nanoseconds it took. */
    private static long publish(TestStream stream, List<EventFixture.Message> messages) {
        long t0 = System.nanoTime();
        List<CompletableFuture<PublishAck>> inFlight = new ArrayList<>();
        for (EventFixture.Message m : messages) {
            inFlight.add(stream.publishAsync(m.subject(), m.body().getBytes(StandardCharsets.UTF_8)));
            if (inFlight.size() >= 4_000) {
                inFlight.forEach(CompletableFuture::join);
                inFlight.clear();
            }
        }
        inFlight.forEach(CompletableFuture::join);
        return System.nanoTime() - t0;
    }

    /** Committed events/s from the first sample with committed rows to the first sample with all of them. */
    private static double steadyRate(List<long[]> samples) {
        long[] first = null;
        long[] last = null;
        long total = samples.isEmpty() ? 0 : samples.get(samples.size() - 1)[1];
        for (long[] s : samples) {
            if (first == null && s[1] > 0) {
                first = s;
            }
            if (last == null && s[1] >= total) {
                last = s;
            }
        }
        if (first == null || last == null || last[0] <= first[0]) {
            return 0;
        }
        return (last[1] - first[1]) / ((last[0] - first[0]) / 1e9);
    }

    /** Key of {@link #cpuByTask}'s entry with the sum over every live Java thread. */
    private static final String ALL_THREADS = "";

    /**
     * CPU time per thread group (Flink task name without the subtask suffix), milliseconds, largest 15 first, plus the
     * sum over all live Java threads under {@link #ALL_THREADS}.
     */
    private static Map<String, Long> cpuByTask(ThreadMXBean threads) {
        Map<String, Long> byName = new TreeMap<>();
        long all = 0;
        for (long id : threads.getAllThreadIds()) {
            ThreadInfo info = threads.getThreadInfo(id);
            long cpu = threads.getThreadCpuTime(id);
            if (info == null || cpu <= 0) {
                continue;
            }
            all += cpu / 1_000_000;
            String name = info.getThreadName().replaceAll("\\s*\\(\\d+/\\d+\\)#\\d+", "").replaceAll("-\\d+$", "").replaceAll("\\d+", "N");
            byName.merge(name.length() > 120 ? name.substring(0, 120) : name, cpu / 1_000_000, Long::sum);
        }
        Map<String, Long> sorted = new java.util.LinkedHashMap<>();
        sorted.put(ALL_THREADS, all);
        byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(15)
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    /** CPU time of this JVM process (all its threads, native ones too), milliseconds. */
    static long processCpuMs() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1_000_000;
    }

    private static String report(IngestAccounting.Outcome outcome, String mode, int events, long distinctValid, long finalCount, String checkpointMs, String parallelism,
                                 String backend, double publishSeconds, double seconds, double steady, Map<String, Long> cpu,
                                 String loadAtStart, CheckpointStats checkpoints, long preloadIds, StartupStats startup,
                                 Map<String, String> sections) throws java.io.IOException {
        com.fasterxml.jackson.databind.JsonNode cp = io.csr.common.json.Json.mapper().readTree(checkpoints.json());
        boolean complete = outcome.complete();
        String eventsPerSecond = complete ? String.format(Locale.ROOT, "%.0f", outcome.eventsPerSecond()) : "null";
        StringBuilder sb = new StringBuilder("{\n");
        sb.append(String.format(Locale.ROOT, "  \"complete\": %s,%n", complete));
        sb.append(String.format(Locale.ROOT, "  \"date\": \"%s\",%n", Instant.now()));
        sb.append(String.format(Locale.ROOT, "  \"machine\": {\"cores\": %d, \"java\": \"%s\"},%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version")));
        sb.append(String.format(Locale.ROOT, "  \"mode\": \"%s: %s\",%n", mode, mode.equals("backlog")
                ? "all messages in the stream before the job starts (job drain rate)"
                : "publisher pushes while the job runs (same JVM, same 2 cores)"));
        sb.append(String.format(Locale.ROOT, "  \"runtime\": \"embedded MiniCluster, exactly-once ClickHouse sink, Redis sink\",%n"));
        sb.append(String.format(Locale.ROOT, "  \"messagesPublished\": %d,%n  \"distinctValidEvents\": %d,%n  \"eventsFinal\": %d,%n",
                events, distinctValid, finalCount));
        sb.append(String.format(Locale.ROOT, "  \"checkpointIntervalMs\": %s,%n  \"parallelism\": %s,%n  \"stateBackend\": \"%s\",%n",
                checkpointMs, parallelism, backend));
        sb.append(String.format(Locale.ROOT, "  \"publishSeconds\": %.2f,%n  \"endToEndSeconds\": %.2f,%n", publishSeconds, seconds));
        // distinct valid events only: duplicates, malformed messages and probes are published and processed but are not
        // events the pipeline delivers, so they do not count towards its rate
        sb.append(String.format(Locale.ROOT, "  \"endToEndEventsPerSecond\": %s,%n", eventsPerSecond));
        sb.append(String.format(Locale.ROOT, "  \"firstToLastCommitEventsPerSecond\": %s,%n", complete ? String.format(Locale.ROOT, "%.0f", steady) : "null"));
        // the machine's load beside the figure (other processes on the same cores change it), and what checkpoints cost
        sb.append(String.format(Locale.ROOT, "  \"loadAverageAtStart\": \"%s\",%n  \"loadAverageAtEnd\": \"%s\",%n",
                loadAtStart, CheckpointStats.loadAverage()));
        sb.append("  \"checkpoints\": ").append(checkpoints.json()).append(",\n");
        for (Map.Entry<String, String> e : sections.entrySet()) {
            sb.append("  \"").append(e.getKey()).append("\": ").append(e.getValue()).append(",\n");
        }
        sb.append(String.format(Locale.ROOT, "  \"rows\": [{\"complete\": %s, \"mode\": \"%s\", \"events\": %d, \"eventsPerSec\": %s, \"checkpoints\": %d, "
                        + "\"checkpointP50Ms\": %s, \"checkpointP95Ms\": %s, \"checkpointMaxMs\": %s, \"checkpointP50Bytes\": %s, "
                        + "\"checkpointMaxBytes\": %s, \"stateP50Bytes\": %s, \"preloadIds\": %d, \"startupMs\": %d, "
                        + "\"steadyEventsPerSec\": %s, \"backend\": \"%s\", \"loadAtStart\": \"%s\"}],%n",
                complete, mode, distinctValid, eventsPerSecond, checkpoints.count(),
                cp.path("durationMs").path("p50").asLong(), cp.path("durationMs").path("p95").asLong(),
                cp.path("durationMs").path("max").asLong(), cp.path("checkpointedSizeBytes").path("p50").asLong(),
                cp.path("checkpointedSizeBytes").path("max").asLong(), cp.path("stateSizeBytes").path("p50").asLong(),
                Math.max(0, preloadIds), startup.runningMs(), complete ? String.format(Locale.ROOT, "%.0f", steady) : "null", backend, loadAtStart.split(" ")[0]));
        sb.append("  \"cpuMsByThread\": {");
        String sep = "\n";
        for (Map.Entry<String, Long> e : cpu.entrySet()) {
            sb.append(sep).append("    \"").append(e.getKey().replace("\"", "'")).append("\": ").append(e.getValue());
            sep = ",\n";
        }
        sb.append("\n  }\n}\n");
        return sb.toString();
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
