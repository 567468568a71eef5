package io.csr.job.perf;

import io.csr.job.dedup.EventDeduplicator;
import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.CsrPipeline;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.SourceFunction;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The preloaded dedup state as a job holds it after running for a day: the canonical preload savepoint
 * ({@link DedupStatePreload}) restored once into RocksDB, left until the compactions that restore causes are over, and
 * saved as a <em>native</em> savepoint (RocksDB's own SST files). A job restoring from it copies the files and finds a
 * settled LSM tree, as it does after a restart from its own incremental checkpoint; restoring from the canonical
 * savepoint instead re-inserts every id, and the compaction debt of that (minutes of background CPU at 86 M ids) would
 * be measured as if holding the ids cost it. {@code --preload-format canonical} measures that restore on purpose.
 *
 * <p>The settling job has only the dedup operator (uid {@link CsrPipeline#UID_DEDUP}, the job's key and state
 * descriptor) behind a stateless idle source, so its savepoint holds nothing the real job would leave unclaimed.
 */
final class NativePreload {
    static final String MARKER = "_csr_dedup_preload_native";
    /** The process is "settled" when it used less than this share of one core for {@link #QUIET_SAMPLES} samples. */
    private static final double QUIET_CORES = 0.08;
    private static final int QUIET_SAMPLES = 3;
    private static final long SAMPLE_MS = 5_000;

    /** The native savepoint and what making it took: restore plus compactions until quiet, then the savepoint. */
    record Result(Path savepoint, long bytes, double settleSeconds, double savepointSeconds, boolean reused) {
    }

    private NativePreload() {
    }

    /**
     * The native copy of {@code canonical} under {@code dir}: reused when {@code dir} holds one made from the same number
     * of ids at the same parallelism and max parallelism (a native RocksDB restore at another parallelism would re-insert
     * every id again), else made there.
     */
    static Result makeOrReuse(Path canonical, long ids, Path dir, RuntimeOptions runtime, Duration ttl, PrintStream log)
            throws Exception {
        Path marker = dir.resolve(MARKER);
        if (Files.isRegularFile(marker)) {
            Properties p = new Properties();
            try (var in = Files.newInputStream(marker)) {
                p.load(in);
            }
            Path savepoint = dir.resolve(p.getProperty("savepoint", ""));
            boolean same = Long.parseLong(p.getProperty("ids", "-1")) == ids
                    && Integer.parseInt(p.getProperty("parallelism", "-1")) == runtime.parallelism()
                    && Integer.parseInt(p.getProperty("maxParallelism", "-1")) == runtime.maxParallelism();
            if (same && Files.isRegularFile(savepoint.resolve("_metadata"))) {
                long bytes = DedupStatePreload.sizeOnDisk(savepoint);
                log.printf(Locale.ROOT, "preload: reusing the native savepoint %s (%,d bytes)%n", savepoint, bytes);
                return new Result(savepoint, bytes, 0, 0, true);
            }
            throw new IllegalArgumentException("native preload " + dir + " was made for " + p.getProperty("ids") + " ids at parallelism "
                    + p.getProperty("parallelism") + " (max " + p.getProperty("maxParallelism") + "), not " + ids + " at "
                    + runtime.parallelism() + " (max " + runtime.maxParallelism() + "); delete it or pass another --preload-savepoint");
        }
        Files.createDirectories(dir);

        Configuration conf = FlinkSettings.job(runtime); // RocksDB with the job's own table options
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(runtime.managedMemoryMb()));
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, canonical.toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofDays(1)); // the savepoint below is the only one
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(runtime.parallelism(), conf);
        env.setMaxParallelism(runtime.maxParallelism());
        env.addSource(new Idle(), "idle", TypeInformation.of(CsrEvent.class))
                .keyBy(EventDeduplicator::key, Types.STRING)
                .process(new EventDeduplicator(ttl)).name("dedup eventId").uid(CsrPipeline.UID_DEDUP)
                .sinkTo(new DiscardingSink<>());

        long t0 = System.nanoTime();
        JobClient job = env.executeAsync("dedup preload: restore, settle, native savepoint");
        try {
            awaitQuiet(job, log, t0);
            double settle = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            String written = job.triggerSavepoint(dir.toUri().toString(), SavepointFormatType.NATIVE).get(60, TimeUnit.MINUTES);
            double savepointSeconds = (System.nanoTime() - t1) / 1e9;
            Path savepoint = Path.of(java.net.URI.create(written.startsWith("file:") ? written : "file:" + written));
            Properties p = new Properties();
            p.setProperty("ids", Long.toString(ids));
            p.setProperty("parallelism", Integer.toString(runtime.parallelism()));
            p.setProperty("maxParallelism", Integer.toString(runtime.maxParallelism()));
            p.setProperty("savepoint", dir.relativize(savepoint).toString());
            p.setProperty("settleSeconds", String.format(Locale.ROOT, "%.1f", settle));
            p.setProperty("writtenAt", Instant.now().toString());
            try (var out = Files.newOutputStream(marker)) {
                p.store(out, "native copy of the dedup state preload (io.csr.job.perf.NativePreload)");
            }
            long bytes = DedupStatePreload.sizeOnDisk(savepoint);
            log.printf(Locale.ROOT, "preload: restored and settled in %.0f s, native savepoint %s (%,d bytes) in %.0f s%n",
                    settle, savepoint, bytes, savepointSeconds);
            return new Result(savepoint, bytes, settle, savepointSeconds, false);
        } finally {
            job.cancel().get(5, TimeUnit.MINUTES);
        }
    }

    /**
     * Until the job runs and the process has been quiet (restore and RocksDB's compactions over) for {@link #QUIET_SAMPLES}
     * samples in a row; prints the process's CPU use every sample.
     */
    private static void awaitQuiet(JobClient job, PrintStream log, long t0) throws Exception {
        long lastCpu = JobIngestBenchmark.processCpuMs();
        long lastAt = System.nanoTime();
        int quiet = 0;
        while (quiet < QUIET_SAMPLES) {
            try {
                job.getJobExecutionResult().get(SAMPLE_MS, TimeUnit.MILLISECONDS);
                throw new IllegalStateException("the settling job ended before its savepoint");
            } catch (java.util.concurrent.TimeoutException e) {
                // still running: sample
            }
            long cpu = JobIngestBenchmark.processCpuMs();
            long now = System.nanoTime();
            double cores = (cpu - lastCpu) * 1e6 / (now - lastAt);
            lastCpu = cpu;
            lastAt = now;
            boolean running = job.getJobStatus().get(1, TimeUnit.MINUTES) == org.apache.flink.api.common.JobStatus.RUNNING;
            quiet = running && cores < QUIET_CORES ? quiet + 1 : 0;
            log.printf(Locale.ROOT, "preload: %4.0f s restoring into RocksDB and compacting, process CPU %.2f cores%s%n",
                    (now - t0) / 1e9, cores, quiet > 0 ? " (quiet " + quiet + "/" + QUIET_SAMPLES + ")" : "");
        }
    }

    /** Emits nothing and holds no state, until cancelled. */
    static final class Idle implements SourceFunction<CsrEvent> {
        private static final long serialVersionUID = 1L;
        private transient volatile Object lock;
        private volatile boolean running = true;

        @Override
        public void run(SourceContext<CsrEvent> ctx) throws InterruptedException {
            lock = new Object();
            synchronized (lock) {
                while (running) {
                    lock.wait();
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
            Object l = lock;
            if (l != null) {
                synchronized (l) {
                    l.notifyAll();
                }
            }
        }
    }
}
