package io.csr.job.backfill;

import io.csr.common.cli.Csr;
import io.csr.common.cli.ConfigOverrides;
import io.csr.common.cli.CsrCommand;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.config.JobOptions;
import io.csr.job.correction.CorrectionPublisher;
import io.csr.job.correction.UserDayRecompute;
import io.csr.job.correction.WindowRecompute;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.JobLaunch;
import io.csr.job.runtime.RestorePoints;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@code bin/csr backfill --from DATE --to DATE [--companies a,b] [--parallelism N] [--split-hours H]
 * [--publish-updates] [--result FILE] [KEY=VALUE…]}: the bounded backfill job ({@link BackfillJob}) in an embedded
 * MiniCluster, with progress (rows read of the total, rate, ETA) and a summary; then the notices that tell the live
 * job which span of each (company, metric) it recomputed ({@link BackfillNotices}). Any range may be backfilled,
 * today's included: the live job never writes a window of a backfilled span from its state (see docs/operations.md).
 * Checkpoints go under {@code CSR_STATE_DIR/backfill/<range>}: a backfill interrupted by a crash resumes from its last
 * checkpoint when the same command runs again (and a completed one may simply be run again: it changes nothing).
 *
 * <p>One step each: the options (picocli) are {@linkplain #plan() validated} into a {@link Plan}, {@linkplain #wire wired}
 * into a job, {@linkplain #await polled} to its end with progress, {@linkplain #summarize summarized} from ClickHouse,
 * and the notices and result {@linkplain #finish written}.
 */
@Command(name = "backfill", mixinStandardHelpOptions = true,
        description = {"Load history from PostgreSQL event_log through the job's validation, dedup and exactly-once sink.",
                "Every window of the range is recomputed over history and live rows; safe to re-run: an interrupted "
                + "backfill resumes from its last checkpoint and never counts an event twice (docs/operations.md)."})
public final class BackfillMain extends CsrCommand {
    @Option(names = "--from", required = true, paramLabel = "YYYY-MM-DD", description = "first UTC day, inclusive")
    String from;

    @Option(names = "--to", required = true, paramLabel = "YYYY-MM-DD", description = "last UTC day, inclusive (today is allowed)")
    String to;

    @Mixin
    HistoryOptions history;

    @Option(names = "--publish-updates", description = "publish the recomputed windows to the Redis update streams (live dashboards)")
    boolean publishUpdates;

    @Option(names = "--allow-open-windows", hidden = true, description = "no longer needed (any range may be backfilled); ignored")
    boolean allowOpenWindows;

    @Option(names = "--no-journeys", description = "do not hand journey events to the live job through NATS")
    boolean noJourneys;

    @Option(names = "--no-notices", description = "tell no live job about the recomputed spans (no live job reads this database)")
    boolean noNotices;

    @Option(names = "--result", paramLabel = "FILE", description = "also write the summary as JSON to FILE")
    Path result;

    @Mixin
    ConfigOverrides settings;

    public static void main(String[] args) {
        Csr.exit(args, "backfill");
    }

    /** The command line run in this process with {@code environment} (tests); exceptions propagate. */
    static int run(String[] args, CsrConfig environment) throws Exception {
        BackfillMain command = new BackfillMain();
        command.useConfig(environment);
        new CommandLine(command).parseArgs(args);
        return command.call();
    }

    /** What the options ask for, validated. */
    record Plan(CsrConfig config, BackfillRange range, int parallelism, RuntimeOptions runtime) {
    }

    /** The job of a plan, ready to run: its environment and what the summary needs. */
    private record Wired(StreamExecutionEnvironment env, BackfillJob job, boolean forwardsJourneys, Path stateRoot) {
    }

    @Override
    public Integer call() throws Exception {
        Plan plan = plan();
        PostgresSettings postgres = PostgresSettings.from(plan.config());
        BackfillRange range = plan.range();
        long total = EventLogRun.count(postgres, range);
        EventLogRun.say("backfill " + range.from() + " .. " + range.to() + (range.companies().isEmpty() ? " (all companies)"
                : " companies " + range.companies()) + ": " + total + " event_log rows in " + range.splits().length
                + " splits, parallelism " + plan.parallelism());
        if (total == 0) {
            EventLogRun.say("nothing to do: event_log has no rows in that range (it is filled by the producers; see docs/operations.md)");
            return 0;
        }
        Wired wired = wire(plan);
        BackfillProgress.reset();
        long started = System.nanoTime();
        await(wired.job().executeAsync(wired.env()).getJobExecutionResult(), total, started);
        double secs = (System.nanoTime() - started) / 1e9;
        Map<String, Object> summary = summarize(plan, total, secs);
        finish(plan, wired, summary);
        return 0;
    }

    /** The options checked and resolved against the configuration; a bad value is a usage error naming it. */
    Plan plan() {
        CsrConfig config = settings.over(config());
        if (allowOpenWindows) {
            EventLogRun.say("--allow-open-windows is no longer needed (any range may be backfilled, today included) and is ignored");
        }
        RuntimeOptions runtime = RuntimeOptions.from(config);
        int p = history.parallelism(runtime, this::usage);
        try {
            BackfillRange range = new BackfillRange(BackfillRange.parseDate("--from", from), BackfillRange.parseDate("--to", to),
                    history.companyIds(), history.split());
            return new Plan(config, range, p, runtime);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    /** The bounded job in a local environment whose checkpoints live under the range's own directory. */
    private Wired wire(Plan plan) {
        CsrConfig config = plan.config();
        RuntimeOptions runtime = plan.runtime();
        Path stateRoot = Path.of(RuntimeOptions.stateDir(config), "backfill", key(plan.range()));
        Configuration flink = FlinkSettings.job(runtime);
        flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, stateRoot.resolve("checkpoints").toUri().toString());
        flink.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, stateRoot.resolve("savepoints").toUri().toString());
        String restore = RestorePoints.latest(stateRoot.resolve("checkpoints"), null).map(RestorePoints.Candidate::dir).orElse(null);
        if (restore != null) {
            EventLogRun.say("resuming the interrupted backfill from " + restore);
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, restore);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(plan.parallelism(), flink);
        // a backfill interrupted before an upgrade resumes at the max parallelism its checkpoints were written with
        env.setMaxParallelism(JobLaunch.chooseMaxParallelism(config, restore).maxParallelism());

        JobOptions options = JobOptions.from(config);
        CorrectionPublisher publisher = publishUpdates ? CorrectionPublisher.redis(options) : CorrectionPublisher.NONE;
        ClickHouseSinkOptions sinkOptions = ClickHouseSinkOptions.from(config);
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(ClickHouseSettings.from(config)).options(sinkOptions)
                .sinkId(sinkOptions.sinkId() + "-backfill")
                .commitHook(new WindowRecompute(Set.of("metrics_timeseries"), publisher).andThen(UserDayRecompute.forBackfill()))
                .build();
        JourneyForwarder journeys = noJourneys ? null
                : new JourneyForwarder(config.get(ConfigKey.NATS_URL), config.get(ConfigKey.NATS_SUBJECT_PREFIX));
        BackfillJob job = new BackfillJob(BackfillJob.eventLogSource(PostgresSettings.from(config), plan.range()), sink, journeys, options);
        return new Wired(env, job, journeys != null, stateRoot);
    }

    /** Progress every 2 s until the job ends; the embedded MiniCluster ends with it, so this polls the result future. */
    private static void await(CompletableFuture<JobExecutionResult> execution, long total, long started) throws Exception {
        long lastPrint = System.nanoTime();
        while (!execution.isDone()) {
            Thread.sleep(200);
            if (System.nanoTime() - lastPrint > 2_000_000_000L) {
                lastPrint = System.nanoTime();
                EventLogRun.progress(total, started);
            }
        }
        EventLogRun.progress(total, started);
        try {
            execution.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the backfill job failed: " + rootMessage(e) + " — run the same command again: it resumes "
                    + "from its last checkpoint, and what is already in ClickHouse is not counted twice", e);
        }
    }

    /** What the run did and what ClickHouse now holds in the range. */
    private static Map<String, Object> summarize(Plan plan, long total, double secs) {
        BackfillRange range = plan.range();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("from", range.from().toString());
        summary.put("to", range.to().toString());
        summary.put("companies", range.companies());
        summary.put("parallelism", plan.parallelism());
        summary.put("rowsRead", BackfillProgress.read());
        summary.put("rowsInRange", total);
        summary.put("seconds", Math.round(secs * 10) / 10.0);
        summary.put("rowsPerSecond", Math.round(BackfillProgress.read() / secs));
        try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(plan.config()))) {
            String companyFilter = range.companies().isEmpty() ? "" : " AND company_id IN " + SqlLiteral.stringList(range.companies());
            String between = " >= " + SqlLiteral.dateTime(range.start()) + " AND %s < " + SqlLiteral.dateTime(range.end());
            summary.put("eventsInRange", ch.queryLong("SELECT count() FROM events FINAL WHERE occurred_at"
                    + String.format(between, "occurred_at") + companyFilter));
            summary.put("windowsInRange", ch.queryLong("SELECT count() FROM metric_windows FINAL WHERE window_start"
                    + String.format(between, "window_start") + companyFilter));
            summary.put("deadLettersFromEventLog", ch.queryLong("SELECT count() FROM dead_letters FINAL WHERE stream = 'event_log'"));
        }
        return summary;
    }

    /** The notices to the live job, the summary line, the result file; then the range's own checkpoints go. */
    private void finish(Plan plan, Wired wired, Map<String, Object> summary) throws Exception {
        CsrConfig config = plan.config();
        // only now, with every row committed and every window of them recomputed: the live job's recomputations of
        // these spans must see all of them (--no-notices: no live job reads this ClickHouse database, e.g. the
        // backfill benchmark's own one)
        int notices = noNotices ? 0 : BackfillNotices.publish(config.get(ConfigKey.NATS_URL), config.get(ConfigKey.NATS_SUBJECT_PREFIX),
                BackfillNotices.spans(PostgresSettings.from(config), plan.range()), publishUpdates);
        summary.put("noticesToLiveJob", notices);
        EventLogRun.say("backfill done in " + summary.get("seconds") + " s: " + summary.get("rowsRead") + " rows read ("
                + summary.get("rowsPerSecond") + " rows/s), ClickHouse now holds " + summary.get("eventsInRange")
                + " events and " + summary.get("windowsInRange") + " windows in the range (every window recomputed from "
                + "history and live rows), " + summary.get("deadLettersFromEventLog") + " event_log rows in dead_letters"
                + (wired.forwardsJourneys() ? "; journey events handed to the live job through NATS" : "") + "; " + notices
                + " notices told the live job which spans it recomputed (it recomputes them after its next commit and "
                + "never writes their windows from its state)");
        if (result != null) {
            if (result.getParent() != null) {
                Files.createDirectories(result.getParent());
            }
            summary.put("finishedAt", Instant.now().toString());
            Files.writeString(result, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(summary));
            EventLogRun.say("result: " + result);
        }
        EventLogRun.deleteRecursively(wired.stateRoot()); // done: a rerun starts over (and changes nothing)
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** A file-name-safe key of the range, so an interrupted backfill finds its own checkpoints. */
    static String key(BackfillRange range) {
        String companies = range.companies().isEmpty() ? "all" : String.join("+", range.companies());
        String raw = range.from() + "_" + range.to() + "_" + companies + "_" + range.split().toHours() + "h";
        return raw.length() <= 120 ? raw : raw.substring(0, 80) + "_" + Integer.toHexString(raw.hashCode());
    }
}
