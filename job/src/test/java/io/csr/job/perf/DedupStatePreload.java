package io.csr.job.perf;

import io.csr.job.dedup.EventDeduplicator;
import io.csr.job.pipeline.CsrPipeline;
import io.csr.job.testing.EventFixture;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * A savepoint holding only the dedup operator's state ({@link CsrPipeline#UID_DEDUP}): {@code seen = true} for N
 * synthetic ids, as the job holds them after N distinct events within the dedup TTL (24 h at 1,000 events/s is
 * 86.4 M). Written with the State Processor API into RocksDB through {@link EventDeduplicator#seenDescriptor} (so the
 * value carries the TTL wrapper the job reads) and keyed by the same String key as the job, with the job's max
 * parallelism; the job then starts from it with {@code --from-savepoint} and every other operator starts empty.
 *
 * <p>Ids are {@code co-<1..companies>|<UUID v4>}, reproducible from their number: the benchmark re-publishes a few of
 * them ({@link #probes}) to show that the restored state drops them. They never collide with {@link EventFixture}'s
 * own ids ({@code e-<seed>-<n>}).
 *
 * <p>Why the State Processor API is fine here although {@code bin/csr bootstrap} avoids it (docs/operations.md,
 * "Bootstrap"): this savepoint has no sink state, so its checkpoint id 0 meets no pending committables; it is
 * benchmark input, not a deployment's state. Flink writes it in the canonical savepoint format, so the restore
 * re-inserts every entry into the job's RocksDB (the cost a restore from any canonical savepoint has); the first
 * checkpoint after it uploads the whole state, the later ones only what changed (incremental checkpoints).
 */
final class DedupStatePreload {
    /** Marker in a preload savepoint: what it holds, so {@code --preload-savepoint DIR} can reuse it for the same N. */
    static final String MARKER = "_csr_dedup_preload";
    /** The ingest fixture's companies (co-1 … co-20): preloaded keys land in the same key groups as live ones. */
    static final int COMPANIES = 20;
    static final long SEED = 86_400_000L;
    /** userId of the probe messages ({@link #probes}): how the benchmark finds them in the events table. */
    static final String PROBE_USER = "preload-probe";
    private static final long PROGRESS_EVERY_MS = 5_000;

    /** What was written (or found): the savepoint directory, its size on disk and how long writing took. */
    record Result(Path savepoint, long ids, long bytes, double writeSeconds, boolean reused) {
        double idsPerSecond() {
            return writeSeconds > 0 ? ids / writeSeconds : 0;
        }
    }

    private DedupStatePreload() {
    }

    /** The companyId of preloaded id number {@code i}. */
    static String companyId(long i) {
        return "co-" + (1 + Math.floorMod(i, COMPANIES));
    }

    /** The eventId of preloaded id number {@code i}: a version-4-shaped UUID, random-looking, reproducible. */
    static String eventId(long i) {
        long hi = mix(SEED ^ (i * 0x9E3779B97F4A7C15L));
        long lo = mix(hi + i);
        hi = (hi & ~0xF000L) | 0x4000L;                                  // version 4
        lo = (lo & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;     // IETF variant
        return new UUID(hi, lo).toString();
    }

    /** The dedup key of preloaded id number {@code i}, as {@link EventDeduplicator#key} forms it. */
    static String key(long i) {
        return companyId(i) + "|" + eventId(i);
    }

    private static long mix(long z) { // SplitMix64's finaliser
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * {@code count} valid metric messages re-using preloaded ids spread over {@code [0, ids)} (ids 0 … count-1 when
     * nothing is preloaded, so a run without preload publishes as many, all new). userId {@code preload-probe} marks
     * them in the events table: none may arrive there when the ids are preloaded, all of them when not.
     */
    static List<EventFixture.Message> probes(int count, long ids, long occurredAtMs) {
        List<EventFixture.Message> out = new ArrayList<>(count);
        long step = Math.max(1, ids / Math.max(1, count));
        for (int j = 0; j < count; j++) {
            long i = j * step;
            String company = companyId(i);
            String eventId = eventId(i);
            long t = occurredAtMs + j;
            String body = String.format(Locale.ROOT,
                    "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"occurredAt\":\"%s\",\"value\":%d,\"userId\":\"%s\"}",
                    eventId, company, Instant.ofEpochMilli(t), 1 + j % 100, PROBE_USER);
            out.add(new EventFixture.Message("metrics.sroi", body, company, eventId, "sroi", t, 1 + j % 100, true, false));
        }
        return out;
    }

    /**
     * The savepoint with {@code ids} preloaded ids in {@code dir}: reused when {@code dir} already holds one written
     * for the same number of ids, else written there ({@code dir} must not exist or be empty).
     *
     * @param parallelism    writer subtasks (the job's parallelism; the restore redistributes key groups anyway)
     * @param maxParallelism the job's MAX_PARALLELISM: key groups are fixed by it, a savepoint with another one is refused
     */
    static Result writeOrReuse(Path dir, long ids, int parallelism, int maxParallelism, Duration ttl, PrintStream log)
            throws Exception {
        if (ids <= 0) {
            throw new IllegalArgumentException("preload needs at least one id, got " + ids);
        }
        Path marker = dir.resolve(MARKER);
        if (Files.isRegularFile(marker) && Files.isRegularFile(dir.resolve("_metadata"))) {
            Properties p = new Properties();
            try (var in = Files.newInputStream(marker)) {
                p.load(in);
            }
            long held = Long.parseLong(p.getProperty("ids", "-1"));
            int heldMax = Integer.parseInt(p.getProperty("maxParallelism", "-1"));
            if (held != ids || heldMax != maxParallelism) {
                throw new IllegalArgumentException("preload savepoint " + dir + " holds " + held + " ids at max parallelism "
                        + heldMax + ", not " + ids + " at " + maxParallelism + "; delete it or pass another --preload-savepoint");
            }
            log.printf(Locale.ROOT, "preload: reusing %s (%,d ids, %,d bytes)%n", dir, ids, sizeOnDisk(dir));
            return new Result(dir, ids, sizeOnDisk(dir), 0, true);
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("preload savepoint directory " + dir + " is not empty and holds no "
                            + "preload savepoint (no " + MARKER + "); delete it or pass another --preload-savepoint");
                }
            }
        }
        Files.createDirectories(dir.getParent());

        long t0 = System.nanoTime();
        JobClient job = submit(dir, ids, parallelism, maxParallelism, ttl);
        CompletableFuture<?> done = job.getJobExecutionResult();
        long lastPrint = System.nanoTime();
        long lastCount = 0;
        while (!done.isDone()) {
            try {
                done.get(PROGRESS_EVERY_MS, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                long now = System.nanoTime();
                long count = SeenWriter.WRITTEN.sum();
                log.printf(Locale.ROOT, "preload: %,d / %,d ids written (%,.0f ids/s now, %,.0f ids/s overall)%n", count, ids,
                        (count - lastCount) / ((now - lastPrint) / 1e9), count / ((now - t0) / 1e9));
                lastPrint = now;
                lastCount = count;
            }
        }
        done.get(); // rethrows a failed write
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!Files.isRegularFile(dir.resolve("_metadata"))) {
            throw new IllegalStateException("the preload job finished but wrote no " + dir.resolve("_metadata"));
        }
        Properties p = new Properties();
        p.setProperty("ids", Long.toString(ids));
        p.setProperty("maxParallelism", Integer.toString(maxParallelism));
        p.setProperty("uid", CsrPipeline.UID_DEDUP);
        p.setProperty("writtenAt", Instant.now().toString());
        try (var out = Files.newOutputStream(marker)) {
            p.store(out, "dedup state preload (io.csr.job.perf.DedupStatePreload)");
        }
        long bytes = sizeOnDisk(dir);
        log.printf(Locale.ROOT, "preload: %,d ids in %.1f s (%,.0f ids/s), savepoint %s is %,d bytes (%.1f B/id)%n",
                ids, seconds, ids / seconds, dir, bytes, (double) bytes / ids);
        return new Result(dir, ids, bytes, seconds, false);
    }

    /** Builds and submits the writer: ids 0 … ids-1 → keys → keyed by the job's key → seen=true in RocksDB. */
    private static JobClient submit(Path dir, long ids, int parallelism, int maxParallelism, Duration ttl) throws Exception {
        Configuration conf = new Configuration();
        // pipelined: BATCH (what AUTOMATIC picks for a bounded input) would sort all keys before the writer sees one
        conf.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        env.setMaxParallelism(maxParallelism);
        DataStream<String> keys = env.fromSequence(0, ids - 1).name("preload ids")
                .map(new KeyOf()).returns(Types.STRING).name("dedup keys");
        StateBootstrapTransformation<String> seen = OperatorTransformation.bootstrapWith(keys)
                .keyBy(k -> k, Types.STRING) // the job keys dedup by this String (CsrPipeline: keyBy(EventDeduplicator::key, Types.STRING))
                .transform(new SeenWriter(ttl));
        SeenWriter.WRITTEN.reset();
        SavepointWriter.newSavepoint(env, new EmbeddedRocksDBStateBackend(true), maxParallelism)
                .withOperator(OperatorIdentifier.forUid(CsrPipeline.UID_DEDUP), seen)
                .write(dir.toUri().toString());
        return env.executeAsync("dedup state preload (" + ids + " ids)");
    }

    /** Bytes of every file under {@code dir}. */
    static long sizeOnDisk(Path dir) {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0; // deleted while walking (RocksDB compaction, a subsumed checkpoint)
                }
            }).sum();
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }

    /** Preloaded id number → its dedup key. */
    static final class KeyOf implements MapFunction<Long, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String map(Long i) {
            return key(i);
        }
    }

    /** Writes the job's {@code seen} flag for every key it is given. */
    static final class SeenWriter extends KeyedStateBootstrapFunction<String, String> {
        private static final long serialVersionUID = 1L;
        /** Ids written so far, for the progress line: the writer's MiniCluster runs in this JVM. */
        static final LongAdder WRITTEN = new LongAdder();

        private final Duration ttl;
        private transient ValueState<Boolean> seen;

        SeenWriter(Duration ttl) {
            this.ttl = ttl;
        }

        @Override
        public void open(OpenContext openContext) {
            seen = getRuntimeContext().getState(EventDeduplicator.seenDescriptor(ttl));
        }

        @Override
        public void processElement(String key, Context ctx) throws Exception {
            seen.update(Boolean.TRUE);
            WRITTEN.increment();
        }
    }
}
