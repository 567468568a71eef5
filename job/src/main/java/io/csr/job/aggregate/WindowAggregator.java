package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Event-time tumbling windows (1m, 1h, 1d) of one (company, metric), managed by hand in keyed state so firing rules
 * are explicit and testable:
 * <ul>
 *   <li><b>early</b>: while a window is open, a changed window is published at most every {@code updateIntervalMs}
 *       of processing time (one pending processing-time timer per key; none while nothing changes);</li>
 *   <li><b>on time</b>: when the watermark passes the window end, a final firing ({@code isFinal=true});</li>
 *   <li><b>late</b>: data within {@code allowedLatenessMs} after the end updates the window and fires again (throttled
 *       like early firings, final=true, higher version);</li>
 *   <li><b>too late</b>: later data goes to {@link #LATE_EVENTS} as a {@code late_events} row and is counted;</li>
 *   <li><b>cleanup</b>: an event-time timer at end + lateness fires anything still pending and removes the window.</li>
 * </ul>
 * <p>{@code version} = 2·count + (final ? 1 : 0). Every firing either counted more events or is the one final firing
 * at the same count, so versions strictly increase per window. Because the version is a function of what was counted
 * rather than of how many throttled firings happened, a replay after a failover re-emits the same version for the
 * same count, and a later count always supersedes an earlier one — whatever Redis or ClickHouse saw before the crash.
 * The last emitted version is also kept in (checkpointed) state as a floor, so a firing can never go backwards.
 */
public class WindowAggregator extends KeyedProcessFunction<String, CsrEvent, WindowFiring> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<TableRow> LATE_EVENTS = new OutputTag<>("late-events") {
    };

    private final long updateIntervalMs;
    private final long allowedLatenessMs;

    /** Per window size: windowStart → accumulator. */
    private transient List<MapState<Long, WindowAccumulator>> windows;
    /** Timestamp of the pending processing-time flush timer, if any. */
    private transient ValueState<Long> pendingFlush;
    /** Processing time of the last flush, so the next one waits at least updateIntervalMs. */
    private transient ValueState<Long> lastFlush;
    /** Highest watermark seen by this subtask, or restored from the checkpoint (max over all subtasks). */
    private transient long watermarkSeen;
    private transient ListState<Long> watermarkState;
    private transient Counter eventsLate;
    private transient Counter windowFirings;

    public WindowAggregator(long updateIntervalMs, long allowedLatenessMs) {
        if (updateIntervalMs <= 0) {
            throw new IllegalArgumentException("UPDATE_INTERVAL_MS must be positive but is " + updateIntervalMs);
        }
        if (allowedLatenessMs < 0) {
            throw new IllegalArgumentException("ALLOWED_LATENESS_MS must not be negative but is " + allowedLatenessMs);
        }
        this.updateIntervalMs = updateIntervalMs;
        this.allowedLatenessMs = allowedLatenessMs;
    }

    /** Metric names match [a-z0-9_] and company ids [A-Za-z0-9_-], so '|' separates them unambiguously. */
    public static String key(CsrEvent event) {
        return event.companyId + "|" + event.name;
    }

    @Override
    public void open(OpenContext openContext) {
        windows = new ArrayList<>();
        for (WindowSize size : WindowSize.values()) {
            windows.add(getRuntimeContext().getMapState(new MapStateDescriptor<>(
                    "windows-" + size.label(), LongSerializer.INSTANCE, WindowAccumulatorSerializer.INSTANCE)));
        }
        pendingFlush = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-flush", Types.LONG));
        lastFlush = getRuntimeContext().getState(new ValueStateDescriptor<>("last-flush", Types.LONG));
        eventsLate = getRuntimeContext().getMetricGroup().counter("eventsLate");
        windowFirings = getRuntimeContext().getMetricGroup().counter("windowFirings");
    }

    @Override
    public void processElement(CsrEvent event, Context ctx, Collector<WindowFiring> out) throws Exception {
        long watermark = watermark(ctx.timerService().currentWatermark());
        boolean changed = false;
        boolean tooLate = false;
        for (WindowSize size : WindowSize.values()) {
            long start = size.startOf(event.occurredAtMs);
            long maxTimestamp = size.maxTimestamp(start);
            if (cleanupTime(maxTimestamp) <= watermark) {
                tooLate = true;
                ctx.output(LATE_EVENTS, lateRow(event, size, ctx.timerService().currentProcessingTime()));
                continue;
            }
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            WindowAccumulator acc = state.get(start);
            if (acc == null) {
                acc = new WindowAccumulator();
                ctx.timerService().registerEventTimeTimer(maxTimestamp);
                ctx.timerService().registerEventTimeTimer(cleanupTime(maxTimestamp));
            }
            acc.add(event.value);
            state.put(start, acc);
            changed = true;
        }
        if (tooLate) {
            eventsLate.inc();
        }
        if (changed) {
            scheduleFlush(ctx.timerService().currentProcessingTime(), ctx);
        }
    }

    /** The higher of Flink's current watermark and the highest seen before (also across a restore). */
    private long watermark(long current) {
        if (current > watermarkSeen) {
            watermarkSeen = current;
        }
        return watermarkSeen;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        watermarkSeen = Long.MIN_VALUE;
        watermarkState = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("watermark-seen", Types.LONG));
        for (Long restored : watermarkState.get()) {
            watermarkSeen = Math.max(watermarkSeen, restored);
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        watermarkState.update(List.of(watermarkSeen));
    }

    private long cleanupTime(long maxTimestamp) {
        return maxTimestamp + allowedLatenessMs;
    }

    private void scheduleFlush(long now, Context ctx) throws Exception {
        if (pendingFlush.value() != null) {
            return;
        }
        Long last = lastFlush.value();
        long at = last == null ? now : Math.max(now, last + updateIntervalMs);
        ctx.timerService().registerProcessingTimeTimer(at);
        pendingFlush.update(at);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long watermark = watermark(ctx.timerService().currentWatermark());
        long now = ctx.timerService().currentProcessingTime();
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            pendingFlush.clear();
            lastFlush.update(now);
            for (WindowSize size : WindowSize.values()) {
                for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                    if (window.getValue().dirty()) {
                        boolean isFinal = size.maxTimestamp(window.getKey()) <= watermark;
                        fire(ctx, size, window.getKey(), window.getValue(), isFinal, now, out);
                    }
                }
            }
            return;
        }
        boolean anyLeft = false;
        for (WindowSize size : WindowSize.values()) {
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                long start = window.getKey();
                WindowAccumulator acc = window.getValue();
                long maxTimestamp = size.maxTimestamp(start);
                if (maxTimestamp <= watermark && (!acc.finalFired() || acc.dirty())) {
                    fire(ctx, size, start, acc, true, now, out);
                }
                if (cleanupTime(maxTimestamp) <= watermark) {
                    state.remove(start);
                } else {
                    anyLeft = true;
                }
            }
        }
        if (!anyLeft) {
            // Nothing left for this key: drop the flush bookkeeping too, so a quiet key holds no state or timers.
            Long pending = pendingFlush.value();
            if (pending != null) {
                ctx.timerService().deleteProcessingTimeTimer(pending);
            }
            pendingFlush.clear();
            lastFlush.clear();
        }
    }

    private List<Map.Entry<Long, WindowAccumulator>> sorted(WindowSize size) throws Exception {
        List<Map.Entry<Long, WindowAccumulator>> entries = new ArrayList<>();
        for (Map.Entry<Long, WindowAccumulator> e : windows.get(size.ordinal()).entries()) {
            entries.add(Map.entry(e.getKey(), e.getValue()));
        }
        entries.sort(Map.Entry.comparingByKey());
        return entries;
    }

    private void fire(OnTimerContext ctx, WindowSize size, long start, WindowAccumulator acc, boolean isFinal, long now,
                      Collector<WindowFiring> out) throws Exception {
        acc.version = nextVersion(acc.version(), acc.count(), isFinal);
        acc.dirty = false;
        acc.finalFired |= isFinal;
        windows.get(size.ordinal()).put(start, acc);
        String key = ctx.getCurrentKey();
        int bar = key.indexOf('|');
        out.collect(WindowFiring.of(key.substring(0, bar), key.substring(bar + 1), size, start, acc, isFinal, now));
        windowFirings.inc();
    }

    /** 2·count + final, but never at or below the last emitted version. */
    static long nextVersion(long lastVersion, long count, boolean isFinal) {
        return Math.max(lastVersion + 1, 2 * count + (isFinal ? 1 : 0));
    }

    /** The {@code late_events} row of an event that missed {@code size}'s window by more than the allowed lateness. */
    static TableRow lateRow(CsrEvent event, WindowSize size, long receivedAtMs) {
        return RowFormat.row("late_events", RowFormat.object()
                .put("company_id", event.companyId)
                .put("metric", event.name)
                .put("event_id", event.eventId)
                .put("occurred_at", RowFormat.dateTime(event.occurredAtMs))
                .put("value", event.value)
                .put("window_size", size.label())
                .put("received_at", RowFormat.dateTime(receivedAtMs)));
    }
}
