package io.csr.job.perf;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.job.CsrJob;
import io.csr.job.runtime.JobLaunch;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.TestStream;
import io.nats.client.api.PublishAck;
import org.apache.flink.core.execution.JobClient;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sustained end-to-end ingest of the real job (embedded MiniCluster, exactly-once on): a publisher pushes
 * {@code --events} Contract 1 messages into a JetStream stream of its own as fast as NATS acknowledges them while the
 * job runs; the clock stops when ClickHouse shows every valid event committed. Reports events/s, the checkpoint
 * interval used, and where the CPU went (per Flink task thread). Results go to perf/results/job-ingest-DATE.json.
 *
 * <p>Run: {@code bin/csr bench job [--events 300000] [--checkpoint-ms 5000] [--parallelism 3] [--mode live|backlog]
 * [--state-backend hashmap|rocksdb]}. {@code live} (default): the publisher pushes while the job runs, the clock runs
 * from the first publish to the last committed row. {@code backlog}: everything is published first, the clock runs
 * from job start: the job's own drain rate.
 */
public final class JobIngestBenchmark {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        int events = Integer.parseInt(a.getOrDefault("events", "300000"));
        String checkpointMs = a.getOrDefault("checkpoint-ms", "5000");
        String parallelism = a.getOrDefault("parallelism", "3");
        String backend = a.getOrDefault("state-backend", "hashmap");
        boolean backlog = a.getOrDefault("mode", "live").equals("backlog");
        Path results = Path.of(a.getOrDefault("results", "perf/results"));

        EventFixture fixture = new EventFixture(events, 20, Instant.now().minus(Duration.ofMinutes(60)).toEpochMilli(),
                Duration.ofMinutes(55).toMillis(), 0.05, 0.02, 2026);
        long distinctValid = fixture.messages().stream().filter(EventFixture.Message::valid)
                .map(m -> m.companyId() + "/" + m.eventId()).distinct().count();
        Path state = Files.createTempDirectory("csr-bench-");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();

        try (TestStream stream = new TestStream()) {
            CsrConfig config = CsrConfig.fromEnvironment().with(Map.of(
                    ConfigKey.NATS_STREAM.name(), stream.stream,
                    ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix,
                    ConfigKey.CLICKHOUSE_DATABASE.name(), "csr_bench_" + stream.id,
                    ConfigKey.REDIS_KEY_PREFIX.name(), "bench_" + stream.id + ":",
                    ConfigKey.CHECKPOINT_INTERVAL_MS.name(), checkpointMs,
                    ConfigKey.JOB_PARALLELISM.name(), parallelism,
                    ConfigKey.STATE_BACKEND.name(), backend,
                    ConfigKey.CSR_STATE_DIR.name(), state.toString(),
                    ConfigKey.FLINK_REST_URL.name(), "http://127.0.0.1:" + freePort()));
            ClickHouseSettings chSettings = ClickHouseSettings.from(config);
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                JobLaunch launch = JobLaunch.parse(new String[]{"--embedded", "--fresh"}, config);
                long publishNanos = 0;
                if (backlog) { // everything is in the stream before the job starts: the job's own drain rate
                    publishNanos = publish(stream, fixture.messages());
                    System.out.printf(Locale.ROOT, "backlog: published %,d messages in %.1f s; starting the job%n", events, publishNanos / 1e9);
                }
                String loadAtStart = CheckpointStats.loadAverage();
                long start = System.nanoTime();
                JobClient job = CsrJob.fromConfig(launch.config()).executeAsync(launch.environment());
                CheckpointStats checkpoints = new CheckpointStats(config.get(ConfigKey.FLINK_REST_URL), job.getJobID().toHexString());
                try {
                    if (!backlog) { // live: the publisher pushes while the job runs
                        publishNanos = publish(stream, fixture.messages());
                    }
                    System.out.printf(Locale.ROOT, "published %,d messages in %.1f s (%,.0f msg/s)%n", events,
                            publishNanos / 1e9, events / (publishNanos / 1e9));
                    List<long[]> samples = new ArrayList<>();
                    long committed = 0;
                    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
                    while (committed < distinctValid && System.nanoTime() < deadline) {
                        Thread.sleep(500);
                        committed = ch.queryLong("SELECT count() FROM events");
                        checkpoints.poll();
                        samples.add(new long[]{System.nanoTime() - start, committed});
                        System.out.printf(Locale.ROOT, "  %5.1f s  %,d / %,d events committed%n",
                                (System.nanoTime() - start) / 1e9, committed, distinctValid);
                    }
                    double seconds = (System.nanoTime() - start) / 1e9;
                    long finalCount = ch.queryLong("SELECT count() FROM events FINAL");
                    Map<String, Long> cpu = cpuByTask(threads);
                    String json = report(backlog ? "backlog" : "live", events, distinctValid, finalCount, checkpointMs, parallelism, backend,
                            publishNanos / 1e9, seconds, steadyRate(samples), cpu, loadAtStart, checkpoints);
                    Files.createDirectories(results);
                    Path out = results.resolve("job-ingest-" + LocalDate.now() + "-" + (backlog ? "backlog" : "live") + "-p" + parallelism + "-cp" + checkpointMs + "-n" + events + ".json");
                    Files.writeString(out, json);
                    System.out.println(json);
                    System.out.println("written " + out.toAbsolutePath());
                } finally {
                    job.cancel().get(60, TimeUnit.SECONDS);
                    ch.dropDatabase();
                }
            }
        }
        System.exit(0);
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

    /** CPU time per thread group (Flink task name without the subtask suffix), milliseconds, largest first. */
    private static Map<String, Long> cpuByTask(ThreadMXBean threads) {
        Map<String, Long> byName = new TreeMap<>();
        for (long id : threads.getAllThreadIds()) {
            ThreadInfo info = threads.getThreadInfo(id);
            long cpu = threads.getThreadCpuTime(id);
            if (info == null || cpu <= 0) {
                continue;
            }
            String name = info.getThreadName().replaceAll("\\s*\\(\\d+/\\d+\\)#\\d+", "").replaceAll("-\\d+$", "").replaceAll("\\d+", "N");
            byName.merge(name.length() > 120 ? name.substring(0, 120) : name, cpu / 1_000_000, Long::sum);
        }
        Map<String, Long> sorted = new java.util.LinkedHashMap<>();
        byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(15)
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    private static String report(String mode, int events, long distinctValid, long finalCount, String checkpointMs, String parallelism,
                                 String backend, double publishSeconds, double seconds, double steady, Map<String, Long> cpu,
                                 String loadAtStart, CheckpointStats checkpoints) throws java.io.IOException {
        StringBuilder sb = new StringBuilder("{\n");
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
        sb.append(String.format(Locale.ROOT, "  \"endToEndEventsPerSecond\": %.0f,%n", events / seconds));
        sb.append(String.format(Locale.ROOT, "  \"firstToLastCommitEventsPerSecond\": %.0f,%n", steady));
        // the machine's load beside the figure (other processes on the same cores change it), and what checkpoints cost
        sb.append(String.format(Locale.ROOT, "  \"loadAverageAtStart\": \"%s\",%n  \"loadAverageAtEnd\": \"%s\",%n",
                loadAtStart, CheckpointStats.loadAverage()));
        sb.append("  \"checkpoints\": ").append(checkpoints.json()).append(",\n");
        sb.append(String.format(Locale.ROOT, "  \"rows\": [{\"mode\": \"%s\", \"events\": %d, \"eventsPerSec\": %.0f, \"checkpoints\": %d, "
                        + "\"checkpointP50Ms\": %s, \"checkpointMaxMs\": %s, \"checkpointP50Bytes\": %s, \"checkpointMaxBytes\": %s, "
                        + "\"backend\": \"%s\", \"loadAtStart\": \"%s\"}],%n", mode, events, events / seconds, checkpoints.count(),
                io.csr.common.json.Json.mapper().readTree(checkpoints.json()).path("durationMs").path("p50").asLong(),
                io.csr.common.json.Json.mapper().readTree(checkpoints.json()).path("durationMs").path("max").asLong(),
                io.csr.common.json.Json.mapper().readTree(checkpoints.json()).path("checkpointedSizeBytes").path("p50").asLong(),
                io.csr.common.json.Json.mapper().readTree(checkpoints.json()).path("checkpointedSizeBytes").path("max").asLong(),
                backend, loadAtStart.split(" ")[0]));
        sb.append("  \"cpuMsByThread\": {");
        String sep = "\n";
        for (Map.Entry<String, Long> e : cpu.entrySet()) {
            sb.append(sep).append("    \"").append(e.getKey().replace("\"", "'")).append("\": ").append(e.getValue());
            sep = ",\n";
        }
        sb.append("\n  }\n}\n");
        return sb.toString();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> out = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got '" + args[i] + "'");
            }
            out.put(args[i].substring(2), args[i + 1]);
        }
        return out;
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
