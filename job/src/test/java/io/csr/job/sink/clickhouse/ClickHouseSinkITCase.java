package io.csr.job.sink.clickhouse;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.verify.ExactlyOnceCheck;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitException;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitTarget;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitter;
import io.csr.job.sink.clickhouse.committer.CommitTarget;
import io.csr.job.sink.clickhouse.committer.CommitterMetrics;
import io.csr.job.sink.clickhouse.committer.FakeCommitRequest;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import io.csr.job.sink.clickhouse.writer.ClickHouseSinkWriter;
import io.csr.job.testing.RestartingEnvironment;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Committer.CommitRequest;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The sink against the real ClickHouse (18.16 here), in a database of its own with every migration applied: ledger
 * idempotence, a crash between insert and ledger write, error classification, a MiniCluster job that fails over after
 * a checkpoint, and the committer's insert throughput.
 */
class ClickHouseSinkITCase {
    static final int PARALLELISM = 2;

    /** Keeps the metrics of every task attempt, so a test can sum a counter over the attempts before and after a failover. */
    static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setConfiguration(METRICS.addToConfiguration(new Configuration()))
                    .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(PARALLELISM).build());

    static ClickHouseTestDatabase db;

    @BeforeAll
    static void createDatabase() {
        db = new ClickHouseTestDatabase("sink");
        // the raw counts below are the point of these tests (a replayed batch inserted again, which FINAL would hide):
        // no background merge may collapse a copy before they are taken
        for (String table : RAW_TABLES) {
            db.access().execute("SYSTEM STOP MERGES " + db.name() + "." + table);
        }
    }

    @AfterAll
    static void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    static ClickHouseSinkOptions options(String sinkId) {
        return new ClickHouseSinkOptions(sinkId, 1_000, 1 << 20, 2, 50, 100, ClickHouseSinkOptions.CONTRACT_TABLES);
    }

    /** Committables exactly as a writer builds them for one checkpoint. */
    static List<ClickHouseCommittable> checkpointOf(ClickHouseSinkOptions options, String company, int rows) {
        ClickHouseSinkWriter writer = new ClickHouseSinkWriter(options, "it-job", 0, OptionalLong.empty(),
                Clock.systemUTC(), new UnregisteredMetricsGroup());
        for (int i = 0; i < rows; i++) {
            writer.write(MetricRows.metric(company, i), null);
        }
        return List.copyOf(writer.prepareCommit());
    }

    static ClickHouseCommitter committer(CommitTarget target, ClickHouseSinkOptions options, CommitterMetrics metrics) {
        return new ClickHouseCommitter(target, options, metrics);
    }

    static ClickHouseCommitTarget realTarget() {
        return new ClickHouseCommitTarget(ClickHouseAccess.open(db.settings()));
    }

    static void commit(ClickHouseCommitter committer, List<ClickHouseCommittable> committables) throws Exception {
        List<FakeCommitRequest> requests = new ArrayList<>();
        for (ClickHouseCommittable c : committables) {
            requests.add(new FakeCommitRequest(c));
        }
        committer.commit(new ArrayList<CommitRequest<ClickHouseCommittable>>(requests));
        for (FakeCommitRequest r : requests) {
            assertThat(r.outcome).as("the committer must never drop a committable by signalling failure")
                    .isNotIn(FakeCommitRequest.Outcome.FAILED_KNOWN, FakeCommitRequest.Outcome.FAILED_UNKNOWN);
        }
    }

    static long rowsFinal(String company) {
        return db.count("SELECT count() AS c FROM metrics_timeseries FINAL WHERE company_id = " + SqlLiteral.string(company) + "");
    }

    /** Tables whose rows are counted raw: their merges are stopped for the class, and a merged part fails the count. */
    private static final List<String> RAW_TABLES = List.of("metrics_timeseries", "sink_commits");

    static long rowsRaw(String company) {
        assertNoMerge();
        return db.count("SELECT count() AS c FROM metrics_timeseries WHERE company_id = " + SqlLiteral.string(company) + "");
    }

    private static void assertNoMerge() {
        assertThat(ExactlyOnceCheck.mergedParts(db.access(), RAW_TABLES))
                .as("parts of %s that came out of a merge: a raw count there may miss collapsed copies", RAW_TABLES).isZero();
    }

    static long distinctEvents(String company) {
        return db.count("SELECT uniqExact(event_id) AS c FROM metrics_timeseries FINAL WHERE company_id = " + SqlLiteral.string(company) + "");
    }

    static long ledgerRows(String sinkId) {
        return db.count("SELECT count() AS c FROM sink_commits FINAL WHERE sink_id = " + SqlLiteral.string(sinkId));
    }

    static long ledgerRowsRaw(String sinkId) {
        assertNoMerge();
        return db.count("SELECT count() AS c FROM sink_commits WHERE sink_id = " + SqlLiteral.string(sinkId));
    }

    @Test
    void committingTheSameCommittablesTwiceWritesEachRowOnceAndOneLedgerRowPerBatch() throws Exception {
        ClickHouseSinkOptions options = options("it-twice");
        List<ClickHouseCommittable> batches = checkpointOf(options, "twice", 2_500);
        assertThat(batches).hasSize(3);
        CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

        try (ClickHouseCommitter first = committer(realTarget(), options, metrics)) {
            commit(first, batches);
        }
        try (ClickHouseCommitter replay = committer(realTarget(), options, metrics)) {
            commit(replay, batches);
        }

        assertThat(rowsFinal("twice")).isEqualTo(2_500);
        assertThat(rowsRaw("twice")).as("the replay was skipped by the ledger, not just collapsed").isEqualTo(2_500);
        assertThat(ledgerRows("it-twice")).isEqualTo(3);
        assertThat(ledgerRowsRaw("it-twice")).isEqualTo(3);
        assertThat(db.count("SELECT sum(rows) AS c FROM sink_commits FINAL WHERE sink_id = 'it-twice'")).isEqualTo(2_500);
        assertThat(metrics.rowsCommitted()).isEqualTo(2_500);
        assertThat(metrics.batchesAlreadyCommitted()).isEqualTo(3);
    }

    @Test
    void aCrashBetweenInsertAndLedgerWriteReplaysTheInsertWhichIsInvisibleUnderFinal() throws Exception {
        ClickHouseSinkOptions options = options("it-crash");
        List<ClickHouseCommittable> batches = checkpointOf(options, "crash", 1_500);
        CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

        try (ClickHouseCommitter dying = committer(new CrashBeforeLedgerWrite(realTarget()), options, metrics)) {
            assertThatThrownBy(() -> commit(dying, batches)).isInstanceOf(ClickHouseCommitException.class)
                    .hasMessageContaining("simulated crash");
        }
        assertThat(rowsRaw("crash")).as("the rows went in").isEqualTo(1_500);
        assertThat(ledgerRows("it-crash")).as("but the ledger never heard of them").isZero();

        CommitterMetrics replayMetrics = new CommitterMetrics(new UnregisteredMetricsGroup());
        try (ClickHouseCommitter afterRestart = committer(realTarget(), options, replayMetrics)) {
            commit(afterRestart, batches);
        }

        assertThat(replayMetrics.rowsCommitted()).as("the replay inserted every row again").isEqualTo(1_500);
        assertThat(replayMetrics.batchesAlreadyCommitted()).isZero();
        // Raw count() is 3,000 until a background merge collapses the copies (it may already have): not asserted exactly.
        assertThat(rowsRaw("crash")).isBetween(1_500L, 3_000L);
        assertThat(rowsFinal("crash")).as("each row once under FINAL").isEqualTo(1_500);
        assertThat(distinctEvents("crash")).isEqualTo(1_500);
        assertThat(ledgerRows("it-crash")).isEqualTo(2);
        assertThat(db.count("SELECT sum(value) * 4 AS c FROM metrics_timeseries FINAL WHERE company_id = 'crash'"))
                .as("values under FINAL are the original ones (sum of 0..1499)").isEqualTo(1_499L * 1_500 / 2);
    }

    @Test
    void aPermanentClickHouseErrorFailsTheCommitLoudlyAndWritesNothing() throws Exception {
        ClickHouseSinkOptions options = options("it-permanent");
        byte[] wrongColumn = "{\"company_id\":\"permanent\",\"no_such_column\":1}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ClickHouseCommittable bad = new ClickHouseCommittable("it-permanent", "it-job", "w-1", 0, 1, 0,
                "metrics_timeseries", System.currentTimeMillis(), 1, wrongColumn);
        CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

        try (ClickHouseCommitter committer = committer(realTarget(), options, metrics)) {
            assertThatThrownBy(() -> commit(committer, List.of(bad)))
                    .isInstanceOfSatisfying(ClickHouseCommitException.class, e -> assertThat(e.retriable()).isFalse())
                    .hasMessageContaining("permanent")
                    .hasMessageContaining("table=metrics_timeseries")
                    .hasMessageContaining("no_such_column");
        }
        assertThat(metrics.retries()).as("a permanent error is not retried").isZero();
        assertThat(ledgerRows("it-permanent")).isZero();
    }

    @Test
    void anUnreachableClickHouseIsRetriedWithBackoffThenFailsTheCommit() throws Exception {
        ClickHouseSinkOptions options = options("it-unreachable");
        ClickHouseSettings nowhere = new ClickHouseSettings("http://127.0.0.1:1", "default", "", db.name(), false, 2_000);
        List<ClickHouseCommittable> batches = checkpointOf(options, "unreachable", 10);
        CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

        try (ClickHouseCommitter committer = committer(new ClickHouseCommitTarget(ClickHouseAccess.open(nowhere)), options, metrics)) {
            assertThatThrownBy(() -> commit(committer, batches))
                    .isInstanceOfSatisfying(ClickHouseCommitException.class, e -> assertThat(e.retriable()).isTrue())
                    .hasMessageContaining("after 2 retries");
        }
        assertThat(metrics.retries()).isEqualTo(2);
    }

    @Test
    void aMiniClusterJobThatFailsAfterCheckpointsEndsWithExactlyTheExpectedRows() throws Exception {
        int rows = 3_000;
        FailOnceAfterCheckpoint.reset();
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(db.settings()).sinkId("it-job").batchRows(200).build();

        StreamExecutionEnvironment env = RestartingEnvironment.upTo(5);
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(200);
        DataGeneratorSource<TableRow> source = new DataGeneratorSource<>(i -> MetricRows.metric("job", i), rows,
                RateLimiterStrategy.perSecond(1_000), TypeInformation.of(TableRow.class));
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "rows").uid("rows")
                .map(new FailOnceAfterCheckpoint()).name("fail-once").uid("fail-once")
                .sinkTo(sink).name("clickhouse").uid("clickhouse");
        env.execute("sink-it");

        assertThat(FailOnceAfterCheckpoint.FAILED_AFTER_COMMIT).as("failure right after a commit happened").isTrue();
        assertThat(FailOnceAfterCheckpoint.FAILED_MID_STREAM).as("failure while processing happened").isTrue();
        assertThat(rowsFinal("job")).isEqualTo(rows);
        assertThat(distinctEvents("job")).isEqualTo(rows);
        assertThat(rowsRaw("job")).as("no row was inserted twice: every replayed batch was skipped by the ledger").isEqualTo(rows);
        assertThat(sum("sink-it", "batchesAlreadyCommitted")).as("batches restored from a checkpoint after their commit").isPositive();
        assertThat(sum("sink-it", "rowsCommitted")).isEqualTo(rows);
        assertThat(db.count("SELECT sum(rows) AS c FROM sink_commits FINAL WHERE sink_id = 'it-job'"))
                .as("every row in exactly one recorded batch").isEqualTo(rows);
        assertThat(db.count("SELECT count() AS c FROM (SELECT DISTINCT writer_id, subtask, checkpoint_id, batch, "
                + "table_name FROM sink_commits WHERE sink_id = 'it-job')")).isEqualTo(ledgerRowsRaw("it-job"));
        assertThat(db.count("SELECT uniqExact(writer_id) AS c FROM sink_commits WHERE sink_id = 'it-job'"))
                .as("writers before and after the failovers").isGreaterThan(PARALLELISM);
    }

    /** A counter summed over every task attempt of the job named {@code jobName}. */
    static long sum(String jobName, String counter) {
        return METRICS.getMetricsByGroup().entrySet().stream()
                .filter(e -> e.getKey().getMetricIdentifier(counter).contains("." + jobName + "."))
                .map(e -> e.getValue().get(counter))
                .filter(m -> m instanceof Counter).mapToLong(m -> ((Counter) m).getCount()).sum();
    }

    @Test
    void committerThroughputForOneHundredThousandMetricRows() throws Exception {
        int rows = 100_000;
        int rounds = 3;
        ClickHouseSinkOptions options = ClickHouseSink.builder().clickHouse(db.settings()).sinkId("it-throughput").build().options();
        for (int round = 1; round <= rounds; round++) {
            String company = "throughput" + round;
            long built = System.nanoTime();
            List<ClickHouseCommittable> batches = checkpointOf(options, company, rows);
            long bytes = batches.stream().mapToLong(c -> c.payload().length).sum();
            CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

            long start = System.nanoTime();
            try (ClickHouseCommitter committer = committer(realTarget(), options, metrics)) {
                commit(committer, batches);
            }
            double seconds = (System.nanoTime() - start) / 1e9;

            System.out.printf("ClickHouse committer round %d: %d metric rows (%d batches, %.1f MiB JSONEachRow, built by the "
                            + "writer in %.2f s) committed in %.3f s = %.0f rows/s, %.0f MiB/s%n", round, rows, batches.size(),
                    bytes / 1048576.0, (start - built) / 1e9, seconds, rows / seconds, bytes / 1048576.0 / seconds);
            assertThat(rowsFinal(company)).isEqualTo(rows);
            assertThat(metrics.rowsCommitted()).isEqualTo(rows);
        }
    }

    @Test
    void sinkThroughputInsideAFlinkJob() throws Exception {
        int rows = 300_000;
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(db.settings()).sinkId("it-job-throughput").build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(500);
        env.fromSource(new DataGeneratorSource<>(i -> MetricRows.metric("jobthroughput", i), rows, TypeInformation.of(TableRow.class)),
                        WatermarkStrategy.noWatermarks(), "rows")
                .sinkTo(sink).name("clickhouse");

        long start = System.nanoTime();
        env.execute("sink-throughput");
        double seconds = (System.nanoTime() - start) / 1e9;

        System.out.printf("ClickHouse sink in a MiniCluster job (parallelism %d, checkpoints every 500 ms): %d rows generated, "
                + "committed and visible in %.2f s = %.0f rows/s end to end (job start-up included)%n", PARALLELISM, rows, seconds, rows / seconds);
        assertThat(rowsFinal("jobthroughput")).isEqualTo(rows);
        assertThat(rowsRaw("jobthroughput")).isEqualTo(rows);
    }

    /**
     * Two induced failures, once each per test: in {@code notifyCheckpointComplete} of a checkpoint after the sink's
     * committer (notified in the same call) committed it, so the restore replays batches that are already committed;
     * then, in a later attempt, while processing rows some time after another completed checkpoint.
     */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<TableRow, TableRow> implements CheckpointListener {
        static final AtomicBoolean FAILED_AFTER_COMMIT = new AtomicBoolean();
        static final AtomicBoolean FAILED_MID_STREAM = new AtomicBoolean();
        private transient boolean checkpointed;
        private transient int rowsSince;

        static void reset() {
            FAILED_AFTER_COMMIT.set(false);
            FAILED_MID_STREAM.set(false);
        }

        @Override
        public TableRow map(TableRow row) {
            if (checkpointed && ++rowsSince > 100 && FAILED_AFTER_COMMIT.get() && FAILED_MID_STREAM.compareAndSet(false, true)) {
                throw new IllegalStateException("induced failure while processing (test)");
            }
            return row;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (checkpointId >= 3 && FAILED_AFTER_COMMIT.compareAndSet(false, true)) {
                throw new IllegalStateException("induced failure right after checkpoint " + checkpointId + " was committed (test)");
            }
            checkpointed = FAILED_AFTER_COMMIT.get();
        }
    }

    /** Inserts for real, then "crashes" before the ledger write. */
    static final class CrashBeforeLedgerWrite implements CommitTarget {
        private final CommitTarget real;

        CrashBeforeLedgerWrite(CommitTarget real) {
            this.real = real;
        }

        @Override
        public Set<ClickHouseCommittable.LedgerKey> committed(Collection<ClickHouseCommittable> candidates) {
            return real.committed(candidates);
        }

        @Override
        public void insert(ClickHouseCommittable batch) {
            real.insert(batch);
        }

        @Override
        public void record(Collection<ClickHouseCommittable> batches, Instant committedAt) {
            throw new io.csr.common.clickhouse.ClickHouseAccessException("simulated crash before the ledger write", null, false, 0);
        }

        @Override
        public void close() {
            real.close();
        }
    }
}
