package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.rows.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Event-time tumbling windows (1m, 1h, 1d) of one (company, metric), managed by hand in keyed state so firing rules
 * are explicit and testable.
 *
 * <p><b>Event time is judged per key, never by Flink's shared watermark.</b> Each (company, metric) keeps its own
 * clock: the highest {@code occurredAt} it has seen less {@code outOfOrdernessMs}. One company's backlog, silence or
 * skewed clock therefore never makes another company's events late (with a job-wide watermark, a company publishing
 * yesterday's observations while another publishes live ones saw every one of them go to {@code late_events}). The
 * clock is per metric rather than per company because that is the finest isolation that costs nothing: it lives in
 * the state this operator already keys by (company, metric), with no extra shuffle. A key that has been silent for
 * {@code idleMs} of processing time lets its clock run on with the wall clock from then on, so a company that goes
 * quiet still gets its windows finalised (the 1-minute window about a minute after, the day window after the day).
 *
 * <ul>
 *   <li><b>early</b>: while a window is open, a changed window is published at most every {@code updateIntervalMs}
 *       of processing time (one pending processing-time timer per key; none while nothing changes);</li>
 *   <li><b>on time</b>: when the key's clock passes the window end, a final firing ({@code isFinal=true});</li>
 *   <li><b>late</b>: data within {@code allowedLatenessMs} after the end updates the window and fires again (throttled
 *       like early firings, final=true, higher version);</li>
 *   <li><b>too late</b>: later data is still counted, by a correction: the event's {@code metrics_timeseries} row and
 *       a {@code late_events} row (the audit trail) go to the sink together, and once they are committed the sink
 *       recomputes the window from {@code metrics_timeseries FINAL} and writes it with a higher version
 *       ({@code correction.WindowRecompute});</li>
 *   <li><b>cleanup</b>: once the clock passes end + lateness, anything pending fires and the window is removed.</li>
 * </ul>
 * <p>Every counted numeric event also leaves here on {@link #OBSERVATIONS} and becomes its {@code metrics_timeseries}
 * row in this same subtask. That puts the rows of one (company, metric) and its {@code late_events} rows in the same
 * sink writer and committer, so when a correction is computed after a commit, every row of that window this job
 * produced up to that checkpoint is already in ClickHouse.
 *
 * <p>{@code version} = 2·count + (final ? 1 : 0). Every firing either counted more events or is the one final firing
 * at the same count, so versions strictly increase per window. Because the version is a function of what was counted
 * rather than of how many throttled firings happened, a replay after a failover re-emits the same version for the
 * same count, and a later count always supersedes an earlier one — whatever Redis or ClickHouse saw before the crash.
 * A correction's version is 2·(count of all stored rows) + 1, above any firing of fewer events. The last emitted
 * version is also kept in (checkpointed) state as a floor, so a firing can never go backwards.
 */
public class WindowAggregator extends KeyedProcessFunction<String, CsrEvent, WindowFiring> {
    private static final long serialVersionUID = 2L;
    private static final long NONE = Long.MAX_VALUE;
    /** The event-time timer that only the final watermark of a bounded input reaches (the job has no other watermarks). */
    private static final long END_OF_INPUT = Long.MAX_VALUE - 1;

    /** Valid numeric events that were too late for at least one of their windows: {@code late_events} rows. */
    public static final OutputTag<TableRow> LATE_EVENTS = new OutputTag<>("late-events") {
    };
    /** Every numeric event this operator received (on time or not): becomes its {@code metrics_timeseries} row. */
    public static final OutputTag<CsrEvent> OBSERVATIONS = new OutputTag<>("observations") {
    };

    private final long updateIntervalMs;
    private final long allowedLatenessMs;
    private final long outOfOrdernessMs;
    private final long idleMs;

    /** Per window size: windowStart → accumulator. */
    private transient List<MapState<Long, WindowAccumulator>> windows;
    /** Timestamp of the pending processing-time flush timer, if any. */
    private transient ValueState<Long> pendingFlush;
    /** Processing time of the last flush, so the next one waits at least updateIntervalMs. */
    private transient ValueState<Long> lastFlush;
    /** This key's clock: the event time up to which its windows are complete (never goes back). */
    private transient ValueState<Long> clock;
    /** Highest occurredAt this key has seen. */
    private transient ValueState<Long> maxOccurred;
    /** Processing time of this key's last event (idleness). */
    private transient ValueState<Long> lastEventAt;
    /** Pending processing-time timer that checks idleness, if any. */
    private transient ValueState<Long> idleCheck;
    /** The earliest clock value at which some window must fire final or be cleaned up (NONE without windows). */
    private transient ValueState<Long> nextDeadline;
    private transient Counter eventsLate;
    private transient Counter windowFirings;

    public WindowAggregator(long updateIntervalMs, long allowedLatenessMs, long outOfOrdernessMs, long idleMs) {
        if (updateIntervalMs <= 0) {
            throw new IllegalArgumentException("UPDATE_INTERVAL_MS must be positive but is " + updateIntervalMs);
        }
        if (allowedLatenessMs < 0) {
            throw new IllegalArgumentException("ALLOWED_LATENESS_MS must not be negative but is " + allowedLatenessMs);
        }
        if (outOfOrdernessMs < 0) {
            throw new IllegalArgumentException("WATERMARK_OUT_OF_ORDERNESS_MS must not be negative but is " + outOfOrdernessMs);
        }
        if (idleMs <= 0) {
            throw new IllegalArgumentException("EVENT_TIME_IDLE_MS must be positive but is " + idleMs);
        }
        this.updateIntervalMs = updateIntervalMs;
        this.allowedLatenessMs = allowedLatenessMs;
        this.outOfOrdernessMs = outOfOrdernessMs;
        this.idleMs = idleMs;
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
        clock = getRuntimeContext().getState(new ValueStateDescriptor<>("clock", Types.LONG));
        maxOccurred = getRuntimeContext().getState(new ValueStateDescriptor<>("max-occurred", Types.LONG));
        lastEventAt = getRuntimeContext().getState(new ValueStateDescriptor<>("last-event-at", Types.LONG));
        idleCheck = getRuntimeContext().getState(new ValueStateDescriptor<>("idle-check", Types.LONG));
        nextDeadline = getRuntimeContext().getState(new ValueStateDescriptor<>("next-deadline", Types.LONG));
        eventsLate = getRuntimeContext().getMetricGroup().counter("eventsLate");
        windowFirings = getRuntimeContext().getMetricGroup().counter("windowFirings");
    }

    @Override
    public void processElement(CsrEvent event, Context ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        long clockNow = valueOr(clock, Long.MIN_VALUE);
        long deadline = valueOr(nextDeadline, NONE);
        boolean hadWindows = deadline != NONE;
        boolean changed = false;
        boolean tooLate = false;
        ctx.output(OBSERVATIONS, event);
        for (WindowSize size : WindowSize.values()) {
            long start = size.startOf(event.occurredAtMs);
            long maxTimestamp = size.maxTimestamp(start);
            if (cleanupTime(maxTimestamp) <= clockNow) {
                tooLate = true;
                ctx.output(LATE_EVENTS, lateRow(event, size, now));
                continue;
            }
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            WindowAccumulator acc = state.get(start);
            if (acc == null) {
                acc = new WindowAccumulator();
                if (!hadWindows) {
                    // fires only at the end of a bounded input (Flink's final Long.MAX_VALUE watermark; the job has
                    // no other watermarks): then every window is complete
                    ctx.timerService().registerEventTimeTimer(END_OF_INPUT);
                    hadWindows = true;
                }
                deadline = Math.min(deadline, maxTimestamp <= clockNow ? cleanupTime(maxTimestamp) : maxTimestamp);
            }
            acc.add(event.value);
            state.put(start, acc);
            changed = true;
        }
        if (tooLate) {
            eventsLate.inc();
        }
        nextDeadline.update(deadline);

        long highest = Math.max(valueOr(maxOccurred, Long.MIN_VALUE), event.occurredAtMs);
        maxOccurred.update(highest);
        lastEventAt.update(now);
        long advanced = Math.max(clockNow, highest - outOfOrdernessMs);
        clock.update(advanced);

        if (changed) {
            scheduleFlush(now, ctx.timerService());
        }
        if (advanced >= deadline) {
            advance(advanced, now, ctx.getCurrentKey(), ctx.timerService(), out);
        }
        if (idleCheck.value() == null && valueOr(nextDeadline, NONE) != NONE) {
            registerIdleCheck(now + idleMs, ctx.timerService());
        }
    }

    /** Fires final every window the clock passed the end of, removes those past end + lateness, finds the next deadline. */
    private void advance(long clockNow, long now, String key, TimerService timers,
                         Collector<WindowFiring> out) throws Exception {
        long deadline = NONE;
        for (WindowSize size : WindowSize.values()) {
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                long start = window.getKey();
                WindowAccumulator acc = window.getValue();
                long maxTimestamp = size.maxTimestamp(start);
                if (maxTimestamp <= clockNow && (!acc.finalFired() || acc.dirty())) {
                    fire(key, size, start, acc, true, now, out);
                }
                if (cleanupTime(maxTimestamp) <= clockNow) {
                    state.remove(start);
                } else {
                    deadline = Math.min(deadline, acc.finalFired() ? cleanupTime(maxTimestamp) : maxTimestamp);
                }
            }
        }
        nextDeadline.update(deadline);
        if (deadline == NONE) {
            // Nothing left for this key: drop the flush and idle bookkeeping too, so a quiet key holds no timers.
            Long pending = pendingFlush.value();
            if (pending != null) {
                timers.deleteProcessingTimeTimer(pending);
            }
            Long idle = idleCheck.value();
            if (idle != null) {
                timers.deleteProcessingTimeTimer(idle);
            }
            timers.deleteEventTimeTimer(END_OF_INPUT);
            pendingFlush.clear();
            lastFlush.clear();
            idleCheck.clear();
        }
    }

    private long cleanupTime(long maxTimestamp) {
        return maxTimestamp > END_OF_INPUT - allowedLatenessMs ? END_OF_INPUT : maxTimestamp + allowedLatenessMs;
    }

    private void scheduleFlush(long now, TimerService timers) throws Exception {
        if (pendingFlush.value() != null) {
            return;
        }
        Long last = lastFlush.value();
        long at = last == null ? now : Math.max(now, last + updateIntervalMs);
        timers.registerProcessingTimeTimer(at);
        pendingFlush.update(at);
    }

    private void registerIdleCheck(long at, TimerService timers) throws Exception {
        timers.registerProcessingTimeTimer(at);
        idleCheck.update(at);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        if (ctx.timeDomain() == TimeDomain.EVENT_TIME) {
            // End of a bounded input (a test, a drained stop-with-savepoint): every window is complete, so each fires
            // final. The key's clock and state stay as they are: were more input to follow after all, it is judged by
            // the key's own clock as before, and a window updated later fires again with a higher version.
            for (WindowSize size : WindowSize.values()) {
                for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                    if (!window.getValue().finalFired() || window.getValue().dirty()) {
                        fire(ctx.getCurrentKey(), size, window.getKey(), window.getValue(), true, now, out);
                    }
                }
            }
            return;
        }
        Long flushAt = pendingFlush.value();
        if (flushAt != null && flushAt <= timestamp) {
            pendingFlush.clear();
            lastFlush.update(now);
            long clockNow = valueOr(clock, Long.MIN_VALUE);
            for (WindowSize size : WindowSize.values()) {
                for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                    if (window.getValue().dirty()) {
                        boolean isFinal = size.maxTimestamp(window.getKey()) <= clockNow;
                        fire(ctx.getCurrentKey(), size, window.getKey(), window.getValue(), isFinal, now, out);
                    }
                }
            }
        }
        Long idleAt = idleCheck.value();
        if (idleAt != null && idleAt <= timestamp) {
            idleCheck.clear();
            onIdleCheck(now, ctx, out);
        }
    }

    /**
     * Silent for idleMs: the clock runs on with the wall clock from then on (highest occurredAt − out-of-orderness +
     * the silence beyond idleMs), and the next check is due when that reaches the next deadline.
     */
    private void onIdleCheck(long now, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long deadline = valueOr(nextDeadline, NONE);
        if (deadline == NONE) {
            return;
        }
        long last = valueOr(lastEventAt, now);
        long silence = now - last;
        if (silence < idleMs) {
            registerIdleCheck(last + idleMs, ctx.timerService());
            return;
        }
        long idleClock = valueOr(maxOccurred, Long.MIN_VALUE) - outOfOrdernessMs + (silence - idleMs);
        long clockNow = Math.max(valueOr(clock, Long.MIN_VALUE), idleClock);
        clock.update(clockNow);
        if (clockNow >= deadline) {
            advance(clockNow, now, ctx.getCurrentKey(), ctx.timerService(), out);
            deadline = valueOr(nextDeadline, NONE);
        }
        if (deadline != NONE) {
            registerIdleCheck(now + Math.max(1L, deadline - clockNow), ctx.timerService());
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

    private void fire(String key, WindowSize size, long start, WindowAccumulator acc, boolean isFinal, long now,
                      Collector<WindowFiring> out) throws Exception {
        acc.version = nextVersion(acc.version(), acc.count(), isFinal);
        acc.dirty = false;
        acc.finalFired |= isFinal;
        windows.get(size.ordinal()).put(start, acc);
        int bar = key.indexOf('|');
        out.collect(WindowFiring.of(key.substring(0, bar), key.substring(bar + 1), size, start, acc, isFinal, now));
        windowFirings.inc();
    }

    private static long valueOr(ValueState<Long> state, long fallback) throws Exception {
        Long v = state.value();
        return v == null ? fallback : v;
    }

    /** 2·count + final, but never at or below the last emitted version. */
    static long nextVersion(long lastVersion, long count, boolean isFinal) {
        return Math.max(lastVersion + 1, 2 * count + (isFinal ? 1 : 0));
    }

    /** The {@code late_events} row of an event that missed {@code size}'s window by more than the allowed lateness. */
    static TableRow lateRow(CsrEvent event, WindowSize size, long receivedAtMs) {
        return RowFormat.row("late_events", event.occurredAtMs, RowFormat.object()
                .put("company_id", event.companyId)
                .put("metric", event.name)
                .put("event_id", event.eventId)
                .put("occurred_at", RowFormat.dateTime(event.occurredAtMs))
                .put("value", event.value)
                .put("window_size", size.label())
                .put("received_at", RowFormat.dateTime(receivedAtMs)));
    }
}
