package io.csr.job;

import io.csr.common.cli.Csr;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.cohort.CohortReplication;
import io.csr.job.cohort.CohortReplicationOptions;
import io.csr.job.config.JobOptions;
import io.csr.job.correction.CorrectionPublisher;
import io.csr.job.correction.UserDayRecompute;
import io.csr.job.correction.WindowRecompute;
import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseRefusedException;
import io.csr.job.lease.LeaseSettings;
import io.csr.job.model.RawMessage;
import io.csr.job.model.RedisUpdate;
import io.csr.job.pipeline.CsrPipeline;
import io.csr.job.redis.RedisUpdateSink;
import io.csr.job.runtime.JobLaunch;
import io.csr.job.runtime.RetentionSchedule;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSinkBuilder;
import io.csr.job.source.BoundedJetStreamSource;
import io.csr.job.source.EventSourceBuilder;
import io.csr.job.source.StreamGapGuard;
import io.csr.job.source.StripSubjectPrefix;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The CSR stream-analytics job: NATS JetStream (Contract 1) → validation, dedup, windows, journeys
 * ({@link CsrPipeline}) → ClickHouse exactly-once (Contract 2) and Redis live updates (Contract 3).
 *
 * <p>The source and both sinks come in through the constructor, so tests swap them; {@link #main} reads the
 * configuration once, picks the run mode ({@link JobLaunch}) and, when embedded, keeps partition retention running
 * beside the job ({@link RetentionSchedule}). Every operator has a stable uid (restores depend on
 * them, never rename one) and max parallelism is set here once.
 */
public final class CsrJob {
    /** Stable operator ids of what this class wires; the pipeline's own operators carry theirs. */
    public static final String SOURCE_UID = "nats-jetstream-source";
    public static final String INGEST_UID = "ingest-strip-prefix";
    public static final String CLICKHOUSE_SINK_UID = "clickhouse-exactly-once-sink";
    public static final String REDIS_SINK_UID = "redis-updates-sink";
    public static final String REDIS_JOURNEY_SINK_UID = "redis-journey-updates-sink";
    public static final String STREAM_GAP_UID = "stream-gap-guard";

    private final Source<RawMessage, ?, ?> source;
    private final Sink<TableRow> tableSink;
    private final Sink<RedisUpdate> updateSink;
    private final JobOptions options;
    private final RuntimeOptions runtime;
    private final String subjectPrefix;
    private StreamGapGuard streamGapGuard;
    private String sourceUid = SOURCE_UID;
    private CohortReplicationOptions cohortReplication = CohortReplicationOptions.disabled();

    public CsrJob(Source<RawMessage, ?, ?> source, Sink<TableRow> tableSink, Sink<RedisUpdate> updateSink,
                  JobOptions options, RuntimeOptions runtime, String subjectPrefix) {
        this.source = source;
        this.tableSink = tableSink;
        this.updateSink = updateSink;
        this.options = options;
        this.runtime = runtime;
        this.subjectPrefix = subjectPrefix == null ? "" : subjectPrefix;
    }

    /**
     * {@code bin/csr run job} ({@code --embedded}: {@link RunJobCommand}, bin/csr's contract) or, without it, the main a
     * Flink cluster runs to build the graph: there nothing may exit the process or catch what Flink throws to take the
     * graph, so the command line is only parsed.
     */
    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--embedded") || java.util.Arrays.asList(args).contains("--help")) {
            Csr.exit(args, "run", "job");
        }
        run(JobLaunch.parse(args, CsrConfig.fromEnvironment()));
    }

    /** Runs the launch: embedded, until the process stops (then exits); built for a cluster, until the graph is submitted. */
    static void run(JobLaunch launch) throws Exception {
        LeaseSettings lease = LeaseSettings.from(launch.config());
        // Embedded, this process is the job: it takes the lease before anything else (no restore chosen, no MiniCluster,
        // nothing read), and the sink's writer in this JVM holds it with it. Built for a cluster, main runs where the
        // graph is built (csr submit); the writer of subtask 0 takes the lease on the TaskManager.
        try (JobLease held = launch.embedded() ? acquireOrExit(lease) : null) {
            StreamExecutionEnvironment env = environmentOrExit(launch);
            try (RetentionSchedule retention = RetentionSchedule.start(launch)) {
                CsrJob.fromConfig(launch.config(), lease).execute(env);
            }
        }
        launch.finished();
    }

    /**
     * The launch's environment; embedded, a checkpoint or savepoint directory it cannot read (a scheme without its
     * file system plugin, storage it cannot list) ends the process with that message before anything is read.
     */
    private static StreamExecutionEnvironment environmentOrExit(JobLaunch launch) {
        try {
            return launch.environment();
        } catch (IllegalArgumentException | IllegalStateException e) {
            if (!launch.embedded()) {
                throw e;
            }
            System.err.println("error [job]: " + e.getMessage());
            System.exit(1);
            throw e;
        }
    }

    private static JobLease acquireOrExit(LeaseSettings lease) {
        try {
            return JobLease.acquire(lease, null);
        } catch (LeaseRefusedException e) {
            System.err.println("error [job]: " + e.getMessage());
            System.exit(1);
            throw e;
        }
    }

    /** The production wiring: JetStream source, exactly-once ClickHouse sink, Redis stream sink, all from config. */
    public static CsrJob fromConfig(CsrConfig config) {
        return fromConfig(config, LeaseSettings.from(config));
    }

    /** As {@link #fromConfig(CsrConfig)}, the sink holding {@code lease} (exactly one job per sink). */
    public static CsrJob fromConfig(CsrConfig config, LeaseSettings lease) {
        return new CsrJob(
                EventSourceBuilder.fromConfig(config).build(),
                tableSink(ClickHouseSettings.from(config), JobOptions.from(config)).options(ClickHouseSinkOptions.from(config)).lease(lease).build(),
                RedisUpdateSink.builder().options(JobOptions.from(config)).build(),
                JobOptions.from(config),
                RuntimeOptions.from(config),
                config.get(ConfigKey.NATS_SUBJECT_PREFIX))
                .withStreamGapGuard(new StreamGapGuard(config.get(ConfigKey.NATS_URL), config.get(ConfigKey.NATS_STREAM),
                        config.getBoolean(ConfigKey.ACCEPT_STREAM_GAP)))
                .withCohortReplication(CohortReplicationOptions.from(config));
    }

    /**
     * A different uid for the source, when it is not the JetStream source (the bootstrap's history source): its state
     * then never lands on the live source's uid.
     */
    public CsrJob withSourceUid(String uid) {
        this.sourceUid = uid;
        return this;
    }

    /** Checks on every restore that the stream still holds what the job had not read (see {@link StreamGapGuard}). */
    public CsrJob withStreamGapGuard(StreamGapGuard guard) {
        this.streamGapGuard = guard;
        return this;
    }

    /** Replicates PostgreSQL cohorts into ClickHouse through the same sink (off unless asked for, or from config). */
    public CsrJob withCohortReplication(CohortReplicationOptions cohorts) {
        this.cohortReplication = cohorts;
        return this;
    }

    /**
     * The exactly-once ClickHouse sink as the live job needs it: late_events rows trigger window corrections
     * (recomputed from metrics_timeseries FINAL after the commit, published to the Redis update streams).
     * Callers add tuning ({@code .options(...)}) and {@code build()}.
     */
    public static ClickHouseSinkBuilder tableSink(ClickHouseSettings clickHouse, JobOptions options) {
        return ClickHouseSink.builder().clickHouse(clickHouse)
                .commitHook(WindowRecompute.forLateEvents(CorrectionPublisher.redis(options))
                        .andThen(UserDayRecompute.forLateEvents()));
    }

    /** Wires the graph and runs it until it ends (embedded: until the process stops; cluster: until cancelled). */
    public JobExecutionResult execute(StreamExecutionEnvironment env) throws Exception {
        wire(env);
        return env.execute(runtime.jobName());
    }

    /** Wires the graph and submits it without waiting (tests, benchmarks). */
    public JobClient executeAsync(StreamExecutionEnvironment env) throws Exception {
        wire(env);
        return env.executeAsync(runtime.jobName());
    }

    /** Adds the job's operators to {@code env}. */
    public void wire(StreamExecutionEnvironment env) {
        env.setMaxParallelism(runtime.maxParallelism());
        env.setParallelism(runtime.parallelism());
        // one reader per split at most: 3 splits, or 3 × (NATS_PARTITIONS + 1) with partitioned subjects
        int sourceParallelism = source instanceof BoundedJetStreamSource jetStream
                ? JobLaunch.sourceParallelism(runtime.parallelism(), jetStream.splitCount())
                : JobLaunch.sourceParallelism(runtime.parallelism());
        DataStream<RawMessage> raw = env
                // no generator of Flink's: the reader stamps each record with its JetStream timestamp and emits the
                // watermarks of that stream time itself (BoundedJetStreamReader); WindowAggregator reads both
                .fromSource(source, WatermarkStrategy.noWatermarks(), "nats-jetstream", TypeInformation.of(RawMessage.class))
                .uid(sourceUid).setParallelism(sourceParallelism)
                .map(new StripSubjectPrefix(subjectPrefix)).name("ingest").uid(INGEST_UID).setParallelism(sourceParallelism);
        DataStream<TableRow> gapRows = null;
        if (streamGapGuard != null) {
            SingleOutputStreamOperator<RawMessage> guarded = raw.process(streamGapGuard)
                    .name("stream gap guard").uid(STREAM_GAP_UID).setParallelism(sourceParallelism);
            gapRows = guarded.getSideOutput(StreamGapGuard.GAPS);
            raw = guarded;
        }
        CsrPipeline.PipelineOutputs out = CsrPipeline.build(raw, options);
        DataStream<TableRow> rows = gapRows == null ? out.rows() : out.rows().union(gapRows);
        CohortReplication.union(rows, cohortReplication).sinkTo(tableSink).name("clickhouse-exactly-once").uid(CLICKHOUSE_SINK_UID);
        // one Redis sink per producing operator, chained to it: a window firing reaches XADD without a shuffle
        out.windowUpdates().sinkTo(updateSink).name("redis-updates").uid(REDIS_SINK_UID);
        out.journeyUpdates().sinkTo(updateSink).name("redis-journey-updates").uid(REDIS_JOURNEY_SINK_UID);
    }
}
