package io.csr.job.sink.clickhouse.exactlyonce;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseCommittableSerializer;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitTarget;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitter;
import io.csr.job.sink.clickhouse.committer.CommitHook;
import io.csr.job.sink.clickhouse.committer.CommitterMetrics;
import io.csr.job.sink.clickhouse.writer.ClickHouseSinkWriter;
import io.csr.job.sink.clickhouse.writer.ClickHouseWriterState;
import io.csr.job.sink.clickhouse.writer.ClickHouseWriterStateSerializer;
import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseRefusedException;
import io.csr.job.lease.LeaseSettings;
import org.apache.flink.api.common.JobInfo;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.execution.SuppressRestartsException;

import java.io.Serializable;
import java.time.Clock;
import java.util.Collection;
import java.util.OptionalLong;

/**
 * Exactly-once ClickHouse sink (Flink Sink V2 with a committer). Writers buffer each checkpoint's {@link TableRow}s per
 * table and seal them into {@link ClickHouseCommittable} batches at the checkpoint barrier; the committer inserts a
 * batch only after its checkpoint completed, consulting the {@code sink_commits} ledger first and recording the batch
 * after, so a replayed commit is skipped, and a commit replayed after a crash between insert and ledger write is
 * collapsed by the tables' ReplacingMergeTree keys under {@code FINAL}. See docs/pipeline.md, "exactly-once".
 *
 * <p>Immutable and serializable: it holds only configuration. Build it with {@link #builder()}.
 */
public final class ClickHouseSink implements Sink<TableRow>, SupportsCommitter<ClickHouseCommittable>,
        SupportsWriterState<TableRow, ClickHouseWriterState> {
    private static final long serialVersionUID = 1L;

    private final Connection connection;
    private final ClickHouseSinkOptions options;
    private final CommitHook commitHook;
    /** Null: no lease (tests, bounded runs). */
    private final LeaseSettings lease;

    ClickHouseSink(ClickHouseSettings settings, ClickHouseSinkOptions options, CommitHook commitHook, LeaseSettings lease) {
        this.connection = Connection.of(settings);
        this.options = options;
        this.commitHook = commitHook;
        this.lease = lease;
    }

    public static ClickHouseSinkBuilder builder() {
        return new ClickHouseSinkBuilder();
    }

    public ClickHouseSinkOptions options() {
        return options;
    }

    public ClickHouseSettings clickHouseSettings() {
        return connection.settings();
    }

    @Override
    public ClickHouseSinkWriter createWriter(WriterInitContext context) {
        return writer(context.getJobInfo(), context.getTaskInfo(), context.getRestoredCheckpointId(), context.metricGroup());
    }

    /** Flink 1.20 still declares this one abstract; the runtime calls {@link #createWriter(WriterInitContext)}. */
    @Override
    @Deprecated
    public ClickHouseSinkWriter createWriter(InitContext context) {
        return writer(context.getJobInfo(), context.getTaskInfo(), context.getRestoredCheckpointId(), context.metricGroup());
    }

    @Override
    public StatefulSinkWriter<TableRow, ClickHouseWriterState> restoreWriter(WriterInitContext context,
                                                                            Collection<ClickHouseWriterState> recoveredState) {
        // The writer keeps no rows across checkpoints (all are sealed into committables at the barrier), so the
        // recovered state is empty by construction; a restored writer is a fresh writer with a new writer id.
        return createWriter(context);
    }

    @Override
    public SimpleVersionedSerializer<ClickHouseWriterState> getWriterStateSerializer() {
        return new ClickHouseWriterStateSerializer();
    }

    private ClickHouseSinkWriter writer(JobInfo job, TaskInfo task, OptionalLong restoredCheckpointId, MetricGroup metrics) {
        ClickHouseSinkWriter writer = new ClickHouseSinkWriter(options, job.getJobId().toHexString(), task.getIndexOfThisSubtask(),
                restoredCheckpointId, Clock.systemUTC(), metrics);
        if (lease != null && task.getIndexOfThisSubtask() == 0) {
            // The lease is held where the job really runs: on a cluster that is the TaskManager of this subtask, not
            // the process that submitted the job. Taken before the first row is written, again after every restart
            // and failover (same holder, drawn when the graph was built); another job's live lease stops this one
            // for good, since a restart could not change that (the message says who runs and what to do).
            try {
                writer.holding(JobLease.acquire(lease, job.getJobId().toHexString()));
            } catch (LeaseRefusedException e) {
                throw new SuppressRestartsException(e);
            }
        }
        return writer;
    }

    @Override
    public Committer<ClickHouseCommittable> createCommitter(CommitterInitContext context) {
        ClickHouseAccess access = ClickHouseAccess.open(connection.settings());
        // which replica of CLICKHOUSE_URL this process commits through, and how often it failed over (docs/pipeline.md)
        context.metricGroup().gauge("clickhouseFailovers", (Gauge<Long>) access::failovers);
        context.metricGroup().gauge("clickhouseActiveUrl", (Gauge<String>) access::activeUrl);
        return new ClickHouseCommitter(new ClickHouseCommitTarget(access), commitHook.open(connection.settings()), options,
                new CommitterMetrics(context.metricGroup()));
    }

    @Override
    public SimpleVersionedSerializer<ClickHouseCommittable> getCommittableSerializer() {
        return new ClickHouseCommittableSerializer();
    }

    /** Serializable copy of {@link ClickHouseSettings} (which lives in the Flink-free common module). */
    private record Connection(String url, String user, String password, String database, boolean compression,
                              long socketTimeoutMs, String cluster) implements Serializable {
        static Connection of(ClickHouseSettings s) {
            return new Connection(s.url(), s.user(), s.password(), s.database(), s.compression(), s.socketTimeoutMs(), s.cluster());
        }

        ClickHouseSettings settings() {
            return new ClickHouseSettings(url, user, password, database, compression, socketTimeoutMs, cluster);
        }
    }
}
