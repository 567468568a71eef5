package io.csr.job.backfill;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.config.JobOptions;
import io.csr.job.correction.CorrectionPublisher;
import io.csr.job.correction.WindowRecompute;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RestorePoints;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/csr backfill --from DATE --to DATE [--companies a,b] [--parallelism N] [--split-hours H]
 * [--publish-updates] [--allow-open-windows] [--result FILE] [KEY=VALUE…]}: the bounded backfill job
 * ({@link BackfillJob}) in an embedded MiniCluster, with progress (rows read of the total, rate, ETA) and a summary.
 * Checkpoints go under {@code CSR_STATE_DIR/backfill/<range>}: a backfill interrupted by a crash resumes from its last
 * checkpoint when the same command runs again (and a completed one may simply be run again: it changes nothing).
 */
public final class BackfillMain {
    private BackfillMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            System.exit(run(args, CsrConfig.fromEnvironment(), Clock.systemUTC()));
        } catch (IllegalArgumentException e) {
            System.err.println("error [backfill]: " + e.getMessage());
            System.exit(2);
        }
    }

    static int run(String[] args, CsrConfig environment, Clock clock) throws Exception {
        Map<String, String> flags = new HashMap<>();
        Map<String, String> overrides = new HashMap<>();
        Set<String> switches = Set.of("--publish-updates", "--allow-open-windows", "--no-journeys");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (switches.contains(a)) {
                flags.put(a, "true");
            } else if (a.startsWith("--")) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(a + " needs a value");
                }
                flags.put(a, args[++i]);
            } else if (a.indexOf('=') > 0) {
                overrides.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
            } else {
                throw new IllegalArgumentException("unknown argument '" + a + "'; usage: backfill --from YYYY-MM-DD --to YYYY-MM-DD "
                        + "[--companies a,b] [--parallelism N] [--split-hours H] [--publish-updates] [--allow-open-windows] [--result FILE]");
            }
        }
        for (String f : flags.keySet()) {
            if (!List.of("--from", "--to", "--companies", "--parallelism", "--split-hours", "--result").contains(f) && !switches.contains(f)) {
                throw new IllegalArgumentException("unknown option " + f);
            }
        }
        CsrConfig config = environment.with(overrides);
        LocalDate from = BackfillRange.parseDate("--from", flags.get("--from"));
        LocalDate to = BackfillRange.parseDate("--to", flags.get("--to"));
        List<String> companies = flags.containsKey("--companies")
                ? Arrays.stream(flags.get("--companies").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList() : List.of();
        int splitHours = parseInt("--split-hours", flags.getOrDefault("--split-hours", "24"), 1, 744);
        BackfillRange range = new BackfillRange(from, to, companies, Duration.ofHours(splitHours));
        JobOptions options = JobOptions.from(config);
        if (!flags.containsKey("--allow-open-windows")) {
            range.requireClosed(clock, Duration.ofMillis(options.allowedLatenessMs));
        }
        RuntimeOptions runtime = RuntimeOptions.from(config);
        int parallelism = parseInt("--parallelism", flags.getOrDefault("--parallelism", String.valueOf(runtime.parallelism)), 1, 64);
        PostgresSettings postgres = PostgresSettings.from(config);
        ClickHouseSettings clickHouse = ClickHouseSettings.from(config);

        long total = EventLogRun.count(postgres, range);
        EventLogRun.say("backfill " + from + " .. " + to + (companies.isEmpty() ? " (all companies)" : " companies " + companies) + ": "
                + total + " event_log rows in " + range.splits().length + " splits, parallelism " + parallelism);
        if (total == 0) {
            EventLogRun.say("nothing to do: event_log has no rows in that range (it is filled by the producers; see docs/operations.md)");
            return 0;
        }

        Path stateRoot = Path.of(RuntimeOptions.stateDir(config), "backfill", key(range));
        Configuration flink = FlinkSettings.job(runtime);
        flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, stateRoot.resolve("checkpoints").toUri().toString());
        flink.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, stateRoot.resolve("savepoints").toUri().toString());
        RestorePoints.latest(stateRoot.resolve("checkpoints"), null).ifPresent(c -> {
            EventLogRun.say("resuming the interrupted backfill from " + c.dir());
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, c.dir().toString());
        });
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, flink);
        env.setMaxParallelism(runtime.maxParallelism);

        CorrectionPublisher publisher = flags.containsKey("--publish-updates")
                ? CorrectionPublisher.redis(options.redisUrl, options.redisKeyPrefix) : CorrectionPublisher.NONE;
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(clickHouse).options(ClickHouseSinkOptions.from(config))
                .sinkId(ClickHouseSinkOptions.from(config).sinkId() + "-backfill")
                .commitHook(new WindowRecompute(Set.of("metrics_timeseries"), publisher))
                .build();
        JourneyForwarder journeys = flags.containsKey("--no-journeys") ? null
                : new JourneyForwarder(config.get(ConfigKey.NATS_URL), config.get(ConfigKey.NATS_SUBJECT_PREFIX));
        BackfillProgress.reset();
        long started = System.nanoTime();
        JobClient client = new BackfillJob(BackfillJob.eventLogSource(postgres, range), sink, journeys, options).executeAsync(env);
        // the embedded MiniCluster shuts down with the job, so progress polls the result future, not the cluster
        java.util.concurrent.CompletableFuture<org.apache.flink.api.common.JobExecutionResult> execution = client.getJobExecutionResult();
        long lastPrint = System.nanoTime();
        while (!execution.isDone()) {
            Thread.sleep(200);
            long now = System.nanoTime();
            if (now - lastPrint > 2_000_000_000L) {
                lastPrint = now;
                EventLogRun.progress(total, started);
            }
        }
        EventLogRun.progress(total, started);
        try {
            execution.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the backfill job failed: " + rootMessage(e) + " — run the same command again: it resumes "
                    + "from its last checkpoint, and what is already in ClickHouse is not counted twice", e);
        }
        double secs = (System.nanoTime() - started) / 1e9;

        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("from", from.toString());
        summary.put("to", to.toString());
        summary.put("companies", companies);
        summary.put("parallelism", parallelism);
        summary.put("rowsRead", BackfillProgress.read());
        summary.put("rowsInRange", total);
        summary.put("seconds", Math.round(secs * 10) / 10.0);
        summary.put("rowsPerSecond", Math.round(BackfillProgress.read() / secs));
        try (ClickHouseAccess ch = ClickHouseAccess.open(clickHouse)) {
            String companyFilter = companies.isEmpty() ? "" : " AND company_id IN " + SqlLiteral.stringList(companies);
            String between = " >= " + SqlLiteral.dateTime(range.start()) + " AND %s < " + SqlLiteral.dateTime(range.end());
            summary.put("eventsInRange", ch.queryLong("SELECT count() FROM events FINAL WHERE occurred_at"
                    + String.format(between, "occurred_at") + companyFilter));
            summary.put("windowsInRange", ch.queryLong("SELECT count() FROM metric_windows FINAL WHERE window_start"
                    + String.format(between, "window_start") + companyFilter));
            summary.put("deadLettersFromEventLog", ch.queryLong("SELECT count() FROM dead_letters FINAL WHERE stream = 'event_log'"));
        }
        EventLogRun.say("backfill done in " + summary.get("seconds") + " s: " + summary.get("rowsRead") + " rows read ("
                + summary.get("rowsPerSecond") + " rows/s), ClickHouse now holds " + summary.get("eventsInRange")
                + " events and " + summary.get("windowsInRange") + " windows in the range (every window recomputed from "
                + "history and live rows), " + summary.get("deadLettersFromEventLog") + " event_log rows in dead_letters"
                + (journeys == null ? "" : "; journey events handed to the live job through NATS"));
        if (flags.containsKey("--result")) {
            Path result = Path.of(flags.get("--result"));
            if (result.getParent() != null) {
                Files.createDirectories(result.getParent());
            }
            summary.put("finishedAt", Instant.now().toString());
            Files.writeString(result, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(summary));
            EventLogRun.say("result: " + result);
        }
        EventLogRun.deleteRecursively(stateRoot); // done: a rerun starts over (and changes nothing)
        return 0;
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

    private static int parseInt(String flag, String value, int min, int max) {
        try {
            int v = Integer.parseInt(value.trim());
            if (v < min || v > max) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + value + "' must be a whole number between " + min + " and " + max);
        }
    }

}
