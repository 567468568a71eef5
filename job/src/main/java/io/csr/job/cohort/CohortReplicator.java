package io.csr.job.cohort;

import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.io.Serializable;
import java.util.function.LongSupplier;

/**
 * The cohort replication operator (parallelism 1): on every tick it polls PostgreSQL for cohort and membership
 * changes since its watermark, emits them as ClickHouse rows for the exactly-once sink, and moves the watermark
 * ({@link ReplicationWatermark}). The watermark is operator state: the rows a poll emitted and the watermark it
 * produced land in the same checkpoint, so a restore re-reads exactly from where the committed rows end — nothing is
 * missed, nothing needs a full re-read.
 *
 * <p>When PostgreSQL cannot answer, the poll is skipped, not thrown: the rest of the job (events, windows, live
 * updates) keeps running, the watermark stays where it was, a warning names the URL and the error (the first failure,
 * then at most once a minute while it lasts), and the next tick tries again — so replication catches up by itself.
 * Metrics: {@code cohortReplicationLagMs} (ms since the start of the last successful poll: what ClickHouse may be
 * missing), {@code cohortReplicationErrors}, {@code cohortReplicationRows}, {@code cohortReplicationWatermarkMs}.
 *
 * <p>The poll runs on the task thread (it blocks this operator only, for at most the reader's timeouts): ticks that
 * queued up meanwhile are dropped rather than turned into back-to-back polls.
 */
public class CohortReplicator extends ProcessFunction<Long, TableRow> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CohortReplicator.class);
    static final long WARN_EVERY_MS = 60_000;

    private final CohortReplicationOptions options;
    private final CohortChanges.Factory readers;
    private final Clock clock;

    private transient CohortChanges reader;
    private transient ListState<Long> watermarkState;
    private transient long watermarkMicros;
    private transient long lastAttemptMs;
    private transient long lastSuccessMs;
    private transient long failingSinceMs;
    private transient long lastWarnMs;
    private transient int failedPolls;
    private transient Counter errors;
    private transient Counter rows;

    public CohortReplicator(CohortReplicationOptions options, CohortChanges.Factory readers) {
        this(options, readers, System::currentTimeMillis);
    }

    CohortReplicator(CohortReplicationOptions options, CohortChanges.Factory readers, Clock clock) {
        this.options = options;
        this.readers = readers;
        this.clock = clock;
    }

    /** The production operator: reads PostgreSQL through {@link CohortChangeReader}. */
    public static CohortReplicator fromPostgres(CohortReplicationOptions options) {
        return new CohortReplicator(options, CohortChangeReader::new);
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        watermarkState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("cohort-replication-watermark-us", Types.LONG));
        watermarkMicros = 0;
        for (Long w : watermarkState.get()) {
            watermarkMicros = Math.max(watermarkMicros, w);
        }
        if (context.isRestored()) {
            LOG.info("cohort replication resumes from updated_at >= {} (restored)", instant(watermarkMicros));
        } else {
            LOG.info("cohort replication starts with a full read of cohorts and user_cohorts from {}", options.describe());
        }
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        reader = readers.open(options);
        lastSuccessMs = clock.getAsLong();
        MetricGroup group = getRuntimeContext().getMetricGroup();
        errors = group.counter("cohortReplicationErrors");
        rows = group.counter("cohortReplicationRows");
        group.gauge("cohortReplicationLagMs", (Gauge<Long>) () -> clock.getAsLong() - lastSuccessMs);
        group.gauge("cohortReplicationWatermarkMs", (Gauge<Long>) () -> watermarkMicros / 1_000);
    }

    @Override
    public void processElement(Long tick, Context ctx, Collector<TableRow> out) {
        long now = clock.getAsLong();
        if (lastAttemptMs != 0 && now - lastAttemptMs < options.pollIntervalMs() / 2) {
            return; // a tick that queued up behind a slow poll
        }
        lastAttemptMs = now;
        CohortPoll poll;
        try {
            poll = reader.poll(watermarkMicros);
        } catch (Exception e) {
            failed(now, e);
            return;
        }
        for (TableRow row : CohortRows.of(poll)) {
            out.collect(row);
        }
        rows.inc(poll.size());
        if (failedPolls > 0) {
            LOG.info("cohort replication resumed: {} answers again after {} failed polls over {} s; catching up from updated_at >= {}",
                    options.url(), failedPolls, (now - failingSinceMs) / 1_000, instant(watermarkMicros));
            failedPolls = 0;
        }
        watermarkMicros = Math.max(watermarkMicros, poll.nextWatermarkMicros());
        lastSuccessMs = now;
    }

    private void failed(long now, Exception e) {
        errors.inc();
        if (failedPolls++ == 0) {
            failingSinceMs = now;
        } else if (now - lastWarnMs < WARN_EVERY_MS) {
            return;
        }
        lastWarnMs = now;
        LOG.warn("cohort replication paused: cannot read cohorts from PostgreSQL at {}: {} ({} failed polls so far). "
                        + "Events keep flowing; replication retries every {} ms and catches up from updated_at >= {}. "
                        + "Check that PostgreSQL is up and POSTGRES_URL/POSTGRES_SCHEMA point at the migrated database.",
                options.describe(), e.toString(), failedPolls, options.pollIntervalMs(), instant(watermarkMicros));
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        watermarkState.update(java.util.List.of(watermarkMicros));
    }

    @Override
    public void close() throws Exception {
        if (reader != null) {
            reader.close();
        }
    }

    /** Wall clock in epoch millis; tests pass their own. */
    interface Clock extends LongSupplier, Serializable {
    }

    long watermarkMicros() {
        return watermarkMicros;
    }

    private static Instant instant(long epochMicros) {
        return Instant.EPOCH.plus(epochMicros, ChronoUnit.MICROS);
    }
}
