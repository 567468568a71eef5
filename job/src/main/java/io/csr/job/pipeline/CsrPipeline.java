package io.csr.job.pipeline;

import io.csr.job.config.JobOptions;
import io.csr.job.aggregate.WindowAggregator;
import io.csr.job.aggregate.UserDayFiring;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.dedup.EventDeduplicator;
import io.csr.job.journey.JourneyTracker;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.model.RawMessage;
import io.csr.job.model.RedisUpdate;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.validate.EventValidator;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import java.time.Duration;

/**
 * The job's operator graph between the source and the sinks:
 * <pre>
 * raw ─► validate ─┬─► live-flush ─► dedup ─► live-flush ─┬─► event-rows ───────────────────────────► rows (events)
 *                  │                                       ├─► numeric ─► window-aggregate ─┬─► window-rows ─► rows (metric_windows)
 *                  │                                       │                  ├ observations ┼─► timeseries-rows ─► rows (metrics_timeseries)
 *                  │                                       │                  ├ late-events ─┼─────────────────► rows (late_events)
 *                  │                                       │                  ├ recomputes ──┼─────────────────► rows (window_recomputes)
 *                  │                                       │                  └ user days ───┼─► user-day-rows ─► rows (user_daily_metrics)
 *                  │                                       │                                 └─► window-updates ─► windowUpdates
 *                  │                                       └─► journey ─► journey-flags ─────────────────────► journeyUpdates
 *                  └ dead letters ─────────────────────────────────────────────────────────────────────────► rows (dead_letters)
 * </pre>
 * {@link LiveFlush} sends live events across the two shuffles at once; {@link LatestRows} writes one
 * {@code metric_windows} row per window and checkpoint. The two update streams each get a Redis sink chained to them.
 * Every operator has a name and a stable uid (savepoints map state by uid). Flink's watermarks here are stream time
 * (the source stamps each record with its JetStream timestamp, see {@code BoundedJetStreamReader}): they say which
 * messages have all arrived, not how late an event is. Event time ({@code occurredAt}) is judged per (company, metric)
 * inside the window operator (see {@link WindowAggregator}), so one company's backlog or silence can never make
 * another company's events late.
 */
public final class CsrPipeline {
    public static final String UID_VALIDATE = "validate";
    public static final String UID_DEDUP = "dedup";
    public static final String UID_EVENT_ROWS = "event-rows";
    public static final String UID_TIMESERIES_ROWS = "timeseries-rows";
    public static final String UID_NUMERIC = "numeric-events";
    public static final String UID_WINDOWS = "window-aggregate";
    public static final String UID_WINDOW_ROWS = "window-rows";
    public static final String UID_USER_DAY_ROWS = "user-day-rows";
    public static final String UID_WINDOW_UPDATES = "window-updates";
    public static final String UID_JOURNEY = "journey-events";
    public static final String UID_JOURNEY_FLAGS = "journey-flags";
    public static final String UID_LIVE_FLUSH_SOURCE = "live-flush-validated";
    public static final String UID_LIVE_FLUSH_DEDUP = "live-flush-unique";
    /** Live events leave their task's network buffers at most this often (see {@link LiveFlush}). */
    static final long LIVE_FLUSH_MIN_INTERVAL_MS = 1;

    /**
     * What the sinks attach to: every ClickHouse row (all five tables) and the Contract 3 updates, window updates and
     * journey updates apart so that each can have a Redis sink chained to the operator that makes it (no shuffle, so
     * no network-buffer wait between a window firing and its XADD).
     */
    public record PipelineOutputs(DataStream<TableRow> rows, DataStream<RedisUpdate> windowUpdates,
                                  DataStream<RedisUpdate> journeyUpdates) {
        /** Every Contract 3 update in one stream (tests). */
        public DataStream<RedisUpdate> updates() {
            return windowUpdates.union(journeyUpdates);
        }
    }

    private CsrPipeline() {
    }

    public static PipelineOutputs build(DataStream<RawMessage> raw, JobOptions options) {
        // No operator here keeps or changes a record it has passed on (each map builds a new object, and what the
        // Redis sink buffers is built for it alone), so chained operators may hand records over as they are instead
        // of Flink copying each one through its serializer: that copy was the window task's largest cost
        // (PojoSerializer, by reflection, for every record between chained operators).
        raw.getExecutionEnvironment().getConfig().enableObjectReuse();
        TypeInformation<TableRow> rowType = TypeInformation.of(TableRow.class);
        TypeInformation<RedisUpdate> updateType = TypeInformation.of(RedisUpdate.class);

        // Validation runs at the source's parallelism so it chains to it: no rebalance between reading a message and
        // validating it.
        int sourceParallelism = raw.getParallelism();
        SingleOutputStreamOperator<CsrEvent> valid = raw
                .process(new EventValidator(options.natsPartitions())).name("validate (Contract 1)").uid(UID_VALIDATE)
                .setParallelism(sourceParallelism);
        DataStream<TableRow> deadLetters = valid.getSideOutput(EventValidator.DEAD_LETTERS);

        // the two shuffles on the way to a dashboard (dedup, windows) send live events on at once; see LiveFlush
        DataStream<CsrEvent> unique = LiveFlush.after(valid, CsrPipeline::isLive, LIVE_FLUSH_MIN_INTERVAL_MS,
                        "send live events on", UID_LIVE_FLUSH_SOURCE)
                .keyBy(EventDeduplicator::key, Types.STRING)
                .process(new EventDeduplicator(Duration.ofMillis(options.dedupTtlMs())))
                .name("dedup eventId").uid(UID_DEDUP);
        unique = LiveFlush.after(unique, CsrPipeline::isLive, LIVE_FLUSH_MIN_INTERVAL_MS,
                "send live events on", UID_LIVE_FLUSH_DEDUP);

        DataStream<TableRow> eventRows = unique
                .flatMap(new EventRows()).returns(rowType)
                .name("events rows").uid(UID_EVENT_ROWS);

        SingleOutputStreamOperator<WindowFiring> firings = unique
                .filter(CsrEvent::feedsWindows).name("numeric events").uid(UID_NUMERIC)
                .keyBy(WindowAggregator::key, Types.STRING)
                .process(new WindowAggregator(options.updateIntervalMs(), options.coarseUpdateIntervalMs(), options.allowedLatenessMs(),
                        options.outOfOrdernessMs(), options.idleMs()))
                .name("windows 1m/1h/1d").uid(UID_WINDOWS);
        DataStream<TableRow> lateRows = firings.getSideOutput(WindowAggregator.LATE_EVENTS);
        // the spans a backfill recomputed, to recompute again after this job's commit (see WindowAggregator)
        DataStream<TableRow> recomputeRows = firings.getSideOutput(WindowAggregator.RECOMPUTES);
        // metrics_timeseries rows come from the window operator's subtask (same key, same sink writer as late_events),
        // so a correction computed after a commit sees every row of its window (see WindowAggregator, WindowRecompute)
        DataStream<TableRow> timeseriesRows = firings.getSideOutput(WindowAggregator.OBSERVATIONS)
                .map(EventRows::timeseriesRow).returns(rowType)
                .name("metrics_timeseries rows").uid(UID_TIMESERIES_ROWS);
        // one row per window and checkpoint, the latest firing's: the others could never be read (see LatestRows)
        DataStream<TableRow> windowRows = firings
                .transform("metric_windows rows (latest per checkpoint)", rowType, new LatestRows<WindowFiring>())
                .uid(UID_WINDOW_ROWS);
        // one user_daily_metrics row per user day and checkpoint (see LatestRows)
        DataStream<TableRow> userDayRows = firings.getSideOutput(WindowAggregator.USER_DAYS)
                .transform("user_daily_metrics rows (latest per checkpoint)", rowType, new LatestRows<UserDayFiring>())
                .uid(UID_USER_DAY_ROWS);
        // a firing that asks for a recomputation has no figures to show: the recomputed window is published after
        // the commit instead (correction.WindowRecompute)
        DataStream<RedisUpdate> windowUpdates = firings
                .flatMap((WindowFiring f, org.apache.flink.util.Collector<RedisUpdate> out) -> {
                    if (!f.recompute) {
                        out.collect(f.toRedisUpdate());
                    }
                }).returns(updateType)
                .name("window updates").uid(UID_WINDOW_UPDATES);

        DataStream<RedisUpdate> journeyUpdates = unique
                .filter(event -> event.kind == EventKind.JOURNEY).name("journey events").uid(UID_JOURNEY)
                .keyBy(JourneyTracker::key, Types.STRING)
                .process(new JourneyTracker()).returns(updateType)
                .name("journey flag counts").uid(UID_JOURNEY_FLAGS);

        return new PipelineOutputs(
                eventRows.union(timeseriesRows, windowRows, deadLetters, lateRows, recomputeRows, userDayRows), windowUpdates, journeyUpdates);
    }

    /** {@link WindowAggregator#isLive} by the wall clock: the rule both the flush and the window cadence use. */
    static boolean isLive(CsrEvent event) {
        return WindowAggregator.isLive(event, System.currentTimeMillis());
    }
}
