package io.csr.job.bootstrap;

import io.csr.common.cli.Csr;
import io.csr.common.cli.ConfigOverrides;
import io.csr.common.cli.CsrCommand;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.CsrJob;
import io.csr.job.backfill.BackfillJob;
import io.csr.job.backfill.BackfillProgress;
import io.csr.job.backfill.BackfillRange;
import io.csr.job.backfill.EventLogRun;
import io.csr.job.backfill.HistoryOptions;
import io.csr.job.config.JobOptions;
import io.csr.job.correction.CorrectionPublisher;
import io.csr.job.correction.UserDayRecompute;
import io.csr.job.correction.WindowRecompute;
import io.csr.job.model.RawMessage;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RestorePoints;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.hybrid.HybridSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/csr bootstrap --until DATE [--companies a,b] [--parallelism N] [--split-hours H] [--force]}: a fresh
 * deployment starts with the state history would have built.
 *
 * <p>The live job's own operators build it: the job graph of {@link CsrJob} (same uids, same validation, dedup,
 * per-key clocks and windows, journey flags, exactly-once sink) runs over {@code event_log} up to DATE — a
 * {@code HybridSource} of the JDBC history source and an {@link IdleSource}, so the job stays up after the last row —
 * and is stopped with a savepoint once every row was read. That savepoint holds exactly the keyed state the live job
 * would have: every history eventId in the dedup state (with a fresh 24 h TTL, so the live stream's copies of history
 * are dropped), journey flags per user, open windows with each key's clock. It lands in {@code SAVEPOINT_DIR} with a
 * marker file ({@link RestorePoints#BOOTSTRAP_MARKER}); the live job starts from it with no flag — the launcher and
 * {@code submit} leave the history source's state unclaimed for such a savepoint ({@code bin/csr start} picks it as the
 * newest restore point; on a cluster, {@code bin/csr submit --from-savepoint PATH}). The history's rows are in ClickHouse by then (committed with that
 * savepoint), and its too-late events were corrected like live ones. Redis gets no updates from history.
 *
 * <p>Why not the State Processor API: writing the state with {@code StateBootstrapTransformation}s would restate every
 * operator's state layout (descriptor names, serializers, TTL wrapping, the window accumulator) a second time and drift
 * from it at the first change; here the layout is the operators' own by construction. And a savepoint rewritten by
 * {@code SavepointWriter} (tried: to drop the history source's state) restarts checkpoint ids at 0, so the restored
 * sink's pending committables of the bootstrap's checkpoint N collide with the live job's own checkpoint N
 * ("duplicate committable summary", FLINK-25920): the exactly-once sink needs the real checkpoint id.
 *
 * <p>One step each: the options are {@linkplain #plan validated} into a {@link Plan}, {@linkplain #wire wired} into
 * the live job's graph over history, {@linkplain #awaitHistoryRead polled} until all history was emitted, then
 * {@linkplain #savepoint stopped with the savepoint} and {@linkplain #printNext told} where it is.
 */
@Command(name = "bootstrap", mixinStandardHelpOptions = true,
        description = {"Fresh deployment: build the live job's state from event_log up to a day and write the savepoint it starts from.",
                "The live job's own operators run over history; the next bin/csr start (or submit --from-savepoint) "
                + "continues from that savepoint. For a deployment that already runs, use bin/csr backfill."})
public final class BootstrapMain extends CsrCommand {
    public static final String HISTORY_SOURCE_UID = "bootstrap-history";

    @Option(names = "--until", required = true, paramLabel = "YYYY-MM-DD", description = "last UTC day of history, inclusive (today at the latest)")
    String until;

    @Mixin
    HistoryOptions history;

    @Option(names = "--force", description = "bootstrap although CHECKPOINT_DIR holds checkpoints of a running deployment")
    boolean force;

    @Mixin
    ConfigOverrides settings;

    private Clock clock = Clock.systemUTC();

    public static void main(String[] args) {
        Csr.exit(args, "bootstrap");
    }

    /** Runs the bootstrap in this process (tests); returns the savepoint the live job starts from (null when event_log holds nothing). */
    public static String run(String[] args, CsrConfig environment, Clock clock) throws Exception {
        BootstrapMain command = new BootstrapMain();
        command.useConfig(environment);
        command.clock = clock;
        new CommandLine(command).parseArgs(args);
        return command.bootstrap();
    }

    /** What the options ask for, validated; {@code from} is the first day event_log holds. */
    record Plan(CsrConfig config, RuntimeOptions runtime, LocalDate until, List<String> companies, int parallelism) {
    }

    @Override
    public Integer call() throws Exception {
        bootstrap();
        return 0;
    }

    private String bootstrap() throws Exception {
        Plan plan = plan();
        PostgresSettings postgres = PostgresSettings.from(plan.config());
        LocalDate from = earliest(postgres, plan.until());
        if (from == null) {
            EventLogRun.say("nothing to bootstrap: event_log has no rows up to " + plan.until());
            return null;
        }
        BackfillRange range = new BackfillRange(from, plan.until(), plan.companies(), history.split());
        long total = EventLogRun.count(postgres, range);
        EventLogRun.say("bootstrap from event_log " + from + " .. " + plan.until() + ": " + total + " rows, parallelism " + plan.parallelism());

        Path work = Path.of(RuntimeOptions.stateDir(plan.config()), "bootstrap", plan.until() + "-" + Instant.now().toEpochMilli());
        StreamExecutionEnvironment env = environment(plan, work);
        BackfillProgress.reset();
        IdleSource.READERS.set(0);
        long started = System.nanoTime();
        JobClient client = wire(plan, range).executeAsync(env);
        awaitHistoryRead(client, total, io.csr.job.runtime.JobLaunch.sourceParallelism(plan.parallelism()), started);
        String path = savepoint(client, plan, work);
        EventLogRun.deleteRecursively(work); // the bootstrap job's own checkpoints; the savepoint is self-contained
        EventLogRun.say(String.format(Locale.ROOT, "bootstrap done in %.1f s: %d history rows; savepoint %s", (System.nanoTime() - started) / 1e9,
                BackfillProgress.read(), path));
        printNext(path);
        return path;
    }

    /** The options checked against the clock and the configuration: usage errors name the value. */
    Plan plan() {
        CsrConfig config = settings.over(config());
        LocalDate day;
        try {
            day = BackfillRange.parseDate("--until", until);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (day.isAfter(LocalDate.now(clock.withZone(ZoneOffset.UTC)))) {
            throw usage("--until " + day + " is in the future; history ends today at the latest");
        }
        history.check(this::usage);
        RuntimeOptions runtime = RuntimeOptions.from(config);
        int p = history.parallelism(runtime, this::usage);
        if (!force && RestorePoints.latest(runtime.checkpointDir(), null).isPresent()) {
            throw new IllegalArgumentException("CHECKPOINT_DIR " + runtime.checkpointDir() + " already holds checkpoints of a running "
                    + "deployment; bootstrap is for a fresh one (its savepoint would replace that state). To add history to a "
                    + "running deployment use bin/csr backfill; to bootstrap anyway, pass --force");
        }
        return new Plan(config, runtime, day, history.companyIds(), p);
    }

    private static StreamExecutionEnvironment environment(Plan plan, Path work) {
        Configuration flink = FlinkSettings.job(plan.runtime());
        flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, work.resolve("checkpoints").toUri().toString());
        return StreamExecutionEnvironment.createLocalEnvironment(plan.parallelism(), flink);
    }

    /** The live job's graph (same uids) over history then an idle source, into the exactly-once sink; no Redis. */
    private static CsrJob wire(Plan plan, BackfillRange range) {
        CsrConfig config = plan.config();
        HybridSource<RawMessage> source = HybridSource.builder(BackfillJob.eventLogSource(PostgresSettings.from(config), range))
                .addSource(new IdleSource()).build();
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(ClickHouseSettings.from(config))
                .options(ClickHouseSinkOptions.from(config))
                .commitHook(WindowRecompute.forLateEvents(CorrectionPublisher.NONE).andThen(UserDayRecompute.forLateEvents()))
                .build();
        return new CsrJob(source, sink, new DiscardingSink<>(), JobOptions.from(config), plan.runtime(), "").withSourceUid(HISTORY_SOURCE_UID);
    }

    /** Until every row was extracted and every source subtask switched to the idle source: all history was emitted. */
    private static void awaitHistoryRead(JobClient client, long total, int sourceSubtasks, long started) throws Exception {
        long lastPrint = 0;
        while (BackfillProgress.read() < total || IdleSource.READERS.get() < sourceSubtasks) {
            JobStatus status = client.getJobStatus().get(30, TimeUnit.SECONDS);
            if (status.isGloballyTerminalState()) {
                client.getJobExecutionResult().get(30, TimeUnit.SECONDS);
                throw new IllegalStateException("the bootstrap job ended " + status + " before reading all history");
            }
            Thread.sleep(200);
            if (System.nanoTime() - lastPrint > 2_000_000_000L) {
                lastPrint = System.nanoTime();
                EventLogRun.progress(total, started);
            }
        }
        EventLogRun.progress(total, started);
    }

    /**
     * A savepoint while the job runs, then two more checkpoints, then cancel: the savepoint's own rows are committed by
     * the time the next checkpoint completes (the committer handles notifyCheckpointComplete before the next barrier),
     * and the ledger then makes the live job skip them on restore. (With stop-with-savepoint, the job could end before
     * the committer finished that last commit.) Returns the savepoint's path, marked as a bootstrap's.
     */
    private static String savepoint(JobClient client, Plan plan, Path work) throws Exception {
        EventLogRun.say("every history row read; taking the savepoint");
        RuntimeOptions runtime = plan.runtime();
        String written = client.triggerSavepoint(runtime.savepointDir(), SavepointFormatType.CANONICAL).get(10, TimeUnit.MINUTES);
        long after = System.currentTimeMillis();
        Path checkpoints = work.resolve("checkpoints");
        long deadline = System.currentTimeMillis() + Math.max(120_000, 10 * runtime.checkpointIntervalMs());
        while (completedCheckpointsSince(checkpoints, after) < 2) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("no checkpoint completed after the bootstrap savepoint within "
                        + (deadline - after) / 1000 + " s; check the job's log — the savepoint " + written + " may hold rows "
                        + "not yet in ClickHouse (the live job commits them when it starts from it)");
            }
            Thread.sleep(200);
        }
        client.cancel().get(2, TimeUnit.MINUTES);
        // through Flink's file system: the savepoint is wherever SAVEPOINT_DIR points (a local disk, s3://…)
        org.apache.flink.core.fs.Path marker = new org.apache.flink.core.fs.Path(new org.apache.flink.core.fs.Path(written), RestorePoints.BOOTSTRAP_MARKER);
        try (java.io.OutputStream out = marker.getFileSystem().create(marker, org.apache.flink.core.fs.FileSystem.WriteMode.OVERWRITE)) {
            out.write(("written by bin/csr bootstrap --until " + plan.until() + "; its history source's state (uid " + HISTORY_SOURCE_UID
                    + ") is left unclaimed by the live job\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return URIs.path(written);
    }

    private static void printNext(String path) {
        EventLogRun.say("start the live job from it: bin/csr start (it picks the newest savepoint under SAVEPOINT_DIR), "
                + "bin/csr run job --from-savepoint " + path + ", or on a cluster bin/csr submit --from-savepoint " + path);
    }

    private static LocalDate earliest(PostgresSettings postgres, LocalDate until) throws Exception {
        try (Connection c = postgres.connectUnchecked();
             PreparedStatement ps = c.prepareStatement("SELECT min(occurred_at) FROM event_log WHERE occurred_at < ?")) {
            ps.setObject(1, until.plusDays(1).atStartOfDay(ZoneOffset.UTC).toOffsetDateTime());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                java.time.OffsetDateTime min = rs.getObject(1, java.time.OffsetDateTime.class);
                return min == null ? null : min.atZoneSameInstant(ZoneOffset.UTC).toLocalDate();
            }
        }
    }

    private static long completedCheckpointsSince(Path root, long sinceMillis) {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (var walk = Files.walk(root, 3)) {
            return walk.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .filter(p -> p.toFile().lastModified() > sinceMillis).count();
        } catch (Exception e) {
            return 0; // a checkpoint directory removed while walking (retention): look again
        }
    }

    /** file: URIs ↔ local paths. */
    private static final class URIs {
        static String path(String uriOrPath) {
            return uriOrPath.startsWith("file:") ? Path.of(java.net.URI.create(uriOrPath)).toString() : uriOrPath;
        }
    }
}
