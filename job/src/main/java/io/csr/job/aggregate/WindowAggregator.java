package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.rows.RowFormat;
import io.csr.job.rows.UpdateVersion;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.api.common.typeutils.base.array.LongPrimitiveArraySerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Event-time tumbling windows (1m, 1h, 1d) of one (company, metric), managed by hand in keyed state so firing rules
 * are explicit and testable.
 *
 * <p>Event time is judged per key by the key's own {@link EventClock} (never by Flink's shared watermark, which here
 * is stream time: it says which records have all arrived), so one company's backlog, silence or skewed clock never
 * makes another company's events late. This class keeps the windows and decides their firings:
 *
 * <ul>
 *   <li><b>early</b>: while a window is open, a changed window is published at most every {@code updateIntervalMs}
 *       of processing time for the 1-minute window and every {@code coarseUpdateIntervalMs} for the 1-hour and 1-day
 *       windows (one pending processing-time timer per key and cadence; none while nothing changes). The minute
 *       window is what a live dashboard watches move, so it gets the short cadence (UPDATE_INTERVAL_MS, default
 *       20 ms: an event reaches the browser in tens of milliseconds even when its key receives dozens per second); the
 *       hour and day windows change by a fraction of a percent per event, and their slower cadence
 *       (COARSE_UPDATE_INTERVAL_MS, default 1 s) keeps the firings, Redis entries and metric_windows rows per event
 *       low. The short cadence is for live events only: an event more than {@link #LIVE_LAG_MS} older than the wall
 *       clock (a backlog being caught up, a backfill) leaves its minute window to the coarse flush, which fires every
 *       dirty window — catching up, nobody watches the intermediate values (perf/results/e2e.md, "Two update
 *       cadences");</li>
 *   <li><b>on time</b>: when the key's clock passes the window end, a final firing ({@code isFinal=true});</li>
 *   <li><b>late</b>: data within {@code allowedLatenessMs} after the end updates the window and fires again (throttled
 *       like early firings, final=true, higher version);</li>
 *   <li><b>too late</b>: later data is still counted, by a correction: the event's {@code metrics_timeseries} row and
 *       a {@code late_events} row (the audit trail) go to the sink together, and once they are committed the sink
 *       recomputes the window from {@code metrics_timeseries FINAL} and writes it with a higher version
 *       ({@code correction.WindowRecompute});</li>
 *   <li><b>cleanup</b>: once the clock passes end + lateness, anything pending fires and the window is removed.</li>
 *   <li><b>backfilled</b>: a backfill committed history rows of this key and recomputed their windows; its notice
 *       ({@code EventKind.BACKFILLED}, read from the stream like any event, so replayed after a restore) names the
 *       span. State holds only the live part of those windows, so from then on a window meeting a span is never
 *       written from state: its firings carry {@link WindowFiring#recompute} and become {@code window_recomputes}
 *       requests, which the sink recomputes from {@code metrics_timeseries FINAL} after the commit that holds them
 *       (and every row of the key before them); the notice itself requests the whole span once more, since a firing
 *       committed after the backfill's recomputation may have hidden it. Spans are kept per key until every window
 *       meeting them is cleaned up, so they also cover windows not opened yet (a backfill of today before the
 *       day's live events). See docs/operations.md "Backfill" for why the versions work out in every order.</li>
 * </ul>
 * <p>Every counted numeric event also leaves here on {@link #OBSERVATIONS} and becomes its {@code metrics_timeseries}
 * row in this same subtask. That puts the rows of one (company, metric) and its {@code late_events} rows in the same
 * sink writer and committer, so when a correction is computed after a commit, every row of that window this job
 * produced up to that checkpoint is already in ClickHouse.
 *
 * <p><b>Per-user days</b> (issue 25): beside the day window, the figures of each user's observations of the day
 * ({@link UserDayAccumulator}), counted exactly when the day window counts the event and removed when the day window
 * is, so their state lives as long as the day window's and no longer. A changed one becomes a {@link #USER_DAYS}
 * firing at the coarse cadence (version 2·count; {@code pipeline.LatestRows} keeps one row per checkpoint).
 * What state cannot know is recomputed from {@code metrics_timeseries FINAL} after the commit instead
 * ({@code correction.UserDayRecompute}, version 2·count + 1), triggered by the day window's own requests: an event
 * too late for the day ({@code late_events} 1d), a day in a backfilled span (its day-window firing becomes a
 * {@code window_recomputes} 1d request, and its user days are not written from state), and a day this key already
 * had in state when it was restored from a savepoint written before per-user days existed (its events before the
 * restore are not in the user-day state: one 1d request per flush, reason {@link RecomputeRequests#USER_DAYS}).
 *
 * <p>{@code version} ({@link UpdateVersion}): major 2·count + (final ? 1 : 0), then the firing's tag (its time). A
 * firing either counted more events or is the one final firing at the same count, so the major never goes back and a
 * later count always supersedes an earlier one, whatever Redis or ClickHouse saw before a crash. The tag makes a
 * version name one value: a replay after a restore can reach a count with other events than the run that died (the
 * interleaving of the key's channels differs, the stream holds events that run never read), and its firings, later in
 * time, get other and higher versions than that run's at the same count. A correction's major is 2·(count of all
 * stored rows) + 1 with the highest tag, above any firing of fewer events. The last emitted version is also kept in
 * (checkpointed) state as a floor, so a firing can never go backwards.
 */
public class WindowAggregator extends KeyedProcessFunction<String, CsrEvent, WindowFiring> {
    private static final long serialVersionUID = 3L;
    private static final long NONE = EventClock.NONE;
    /** Events at most this far behind the wall clock are live: their minute window gets the short cadence. */
    public static final long LIVE_LAG_MS = 10_000;

    /**
     * Live: at most {@link #LIVE_LAG_MS} behind {@code nowMs}, so a dashboard is waiting for it (the short cadence
     * here, the immediate network flush in {@code LiveFlush}); older events are a backlog being caught up.
     */
    public static boolean isLive(CsrEvent event, long nowMs) {
        return nowMs - event.occurredAtMs <= LIVE_LAG_MS;
    }

    /**
     * The event-time timer that only the final watermark of a bounded input reaches: the source's watermarks are
     * stream time (JetStream timestamps), which never get near it.
     */
    private static final long END_OF_INPUT = Long.MAX_VALUE - 1;

    /** Valid numeric events that were too late for at least one of their windows: {@code late_events} rows. */
    public static final OutputTag<TableRow> LATE_EVENTS = new OutputTag<>("late-events") {
    };
    /**
     * {@code window_recomputes} rows: the spans a backfill's notice names, to be recomputed after this job's commit
     * (the requests of single firings in such a span travel as {@link WindowFiring#recompute} firings instead).
     */
    public static final OutputTag<TableRow> RECOMPUTES = new OutputTag<>("recomputes") {
    };
    /** Every numeric event this operator received (on time or not): becomes its {@code metrics_timeseries} row. */
    public static final OutputTag<CsrEvent> OBSERVATIONS = new OutputTag<>("observations") {
    };
    /** The changed per-user days of a coarse flush, a day's cleanup or the end of the input. */
    public static final OutputTag<UserDayFiring> USER_DAYS = new OutputTag<>("user-days") {
    };

    private final EventClock.Settings clockSettings;
    private final long allowedLatenessMs;

    /** Per window size: windowStart → accumulator. */
    private transient List<MapState<Long, WindowAccumulator>> windows;
    /** Each key's {@link EventClock}. */
    private transient ValueState<long[]> clocks;
    /**
     * The spans of this key a backfill recomputed, as sorted, disjoint [from, to) pairs; a window that meets one is
     * never written from state (see the class comment). Dropped once every window meeting a span is cleaned up.
     */
    private transient ValueState<long[]> backfilled;
    /** "dayStartMs|userId" → {@link UserDayAccumulator#toBytes}: the user days of the day windows held. */
    private transient MapState<String, byte[]> userDays;
    /** The user days changed since their last firing (keys of {@link #userDays}), each once. */
    private transient ListState<String> userDaysDirty;
    private transient Counter eventsLate;
    private transient Counter windowFirings;

    /** One cadence for every window size. */
    public WindowAggregator(long updateIntervalMs, long allowedLatenessMs, long outOfOrdernessMs, long idleMs) {
        this(updateIntervalMs, updateIntervalMs, allowedLatenessMs, outOfOrdernessMs, idleMs);
    }

    /**
     * @param updateIntervalMs       early firings of the 1-minute window at most this often (UPDATE_INTERVAL_MS)
     * @param coarseUpdateIntervalMs early firings of the 1-hour and 1-day windows at most this often, never more often
     *                               than the minute window's (COARSE_UPDATE_INTERVAL_MS)
     */
    public WindowAggregator(long updateIntervalMs, long coarseUpdateIntervalMs, long allowedLatenessMs, long outOfOrdernessMs,
                            long idleMs) {
        if (updateIntervalMs <= 0) {
            throw new IllegalArgumentException("UPDATE_INTERVAL_MS must be positive but is " + updateIntervalMs);
        }
        if (coarseUpdateIntervalMs <= 0) {
            throw new IllegalArgumentException("COARSE_UPDATE_INTERVAL_MS must be positive but is " + coarseUpdateIntervalMs);
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
        this.clockSettings = new EventClock.Settings(outOfOrdernessMs, idleMs, updateIntervalMs,
                Math.max(updateIntervalMs, coarseUpdateIntervalMs));
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
        clocks = getRuntimeContext().getState(EventClock.stateDescriptor());
        // added for issue 27: a savepoint written before it restores with this state empty (no span backfilled)
        backfilled = getRuntimeContext().getState(new ValueStateDescriptor<>("backfilled-spans", LongPrimitiveArraySerializer.INSTANCE));
        // added for issue 25: a savepoint written before it restores with these empty (see EventClock#userDaysFrom)
        userDays = getRuntimeContext().getMapState(new MapStateDescriptor<>("user-days", StringSerializer.INSTANCE,
                BytePrimitiveArraySerializer.INSTANCE));
        userDaysDirty = getRuntimeContext().getListState(new ListStateDescriptor<>("user-days-dirty", StringSerializer.INSTANCE));
        eventsLate = getRuntimeContext().getMetricGroup().counter("eventsLate");
        windowFirings = getRuntimeContext().getMetricGroup().counter("windowFirings");
    }

    /** The current key's clock (a key restored from before per-user days learns which of its days are complete). */
    private EventClock clock() throws Exception {
        return EventClock.read(clocks, clockSettings, () -> {
            long latest = EventClock.USER_DAYS_COMPLETE;
            for (Long start : windows.get(WindowSize.DAY.ordinal()).keys()) {
                latest = Math.max(latest, start + WindowSize.DAY.millis());
            }
            return latest;
        });
    }

    /** The record's stream time, or {@link EventClock#UNSET} when its source gives none. */
    private static long stampOf(Context ctx) {
        Long stamp = ctx.timestamp();
        return stamp == null ? EventClock.UNSET : stamp; // a source without timestamps gives Long.MIN_VALUE = UNSET
    }

    private static boolean coarse(WindowSize size) {
        return size != WindowSize.MINUTE;
    }

    @Override
    public void processElement(CsrEvent event, Context ctx, Collector<WindowFiring> out) throws Exception {
        if (event.kind == EventKind.BACKFILLED) {
            onBackfilled(event, ctx);
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        long stamp = stampOf(ctx);
        EventClock clock = clock();
        ctx.output(OBSERVATIONS, event);
        EnumSet<EventClock.Cadence> changed = count(event, clock, stamp, now, ctx);
        clock.observe(event.occurredAtMs, stamp, now, ctx.timerService());
        for (EventClock.Cadence cadence : changed) {
            clock.scheduleFlush(cadence, now, ctx.timerService());
        }
        if (clock.pastDeadline()) {
            closeWindows(clock, now, ctx.getCurrentKey(), ctx, out);
        }
        clock.watchIdleness(now, ctx.timerService());
        clock.write(clocks);
    }

    /**
     * Counts the event in each window it is not too late for (judged by the clock as it was before the event) and
     * moves the key's deadline to a window it opened; a too-late event becomes {@code late_events} rows. Returns
     * the cadences whose windows changed.
     */
    private EnumSet<EventClock.Cadence> count(CsrEvent event, EventClock clock, long stamp, long now, Context ctx) throws Exception {
        long judge = clock.judge(stamp);
        long deadline = clock.deadline();
        EnumSet<EventClock.Cadence> changed = EnumSet.noneOf(EventClock.Cadence.class);
        boolean tooLate = false;
        for (WindowSize size : WindowSize.values()) {
            long start = size.startOf(event.occurredAtMs);
            long maxTimestamp = size.maxTimestamp(start);
            if (cleanupTime(maxTimestamp) <= judge) {
                tooLate = true;
                ctx.output(LATE_EVENTS, lateRow(event, size, now));
                continue;
            }
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            WindowAccumulator acc = state.get(start);
            if (acc == null) {
                acc = new WindowAccumulator();
                if (deadline == NONE) {
                    // fires only at the end of a bounded input (Flink's final Long.MAX_VALUE watermark; stream-time
                    // watermarks never reach it): then every window is complete
                    ctx.timerService().registerEventTimeTimer(END_OF_INPUT);
                }
                deadline = Math.min(deadline, maxTimestamp <= clock.time() ? cleanupTime(maxTimestamp) : maxTimestamp);
            }
            acc.add(event.value);
            state.put(start, acc);
            if (size == WindowSize.DAY && !event.userId.isEmpty()) {
                addToUserDay(start, event);
            }
            changed.add(coarse(size) || !isLive(event, now) ? EventClock.Cadence.COARSE : EventClock.Cadence.FINE);
        }
        if (tooLate) {
            eventsLate.inc();
        }
        clock.deadline(deadline);
        return changed;
    }

    /**
     * Fires final every window the clock passed the end of, removes those past end + lateness (with their user
     * days), sets the next deadline and drops the backfilled spans nothing meets any more.
     */
    private void closeWindows(EventClock clock, long now, String key, Context ctx, Collector<WindowFiring> out) throws Exception {
        long clockNow = clock.time();
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
                    if (size == WindowSize.DAY) {
                        fireUserDays(key, clock, now, ctx, start);
                    }
                } else {
                    deadline = Math.min(deadline, acc.finalFired() ? cleanupTime(maxTimestamp) : maxTimestamp);
                }
            }
        }
        clock.deadline(deadline);
        pruneSpans(clockNow);
        if (!clock.holdsWindows()) {
            clock.releaseTimers(ctx.timerService());
            ctx.timerService().deleteEventTimeTimer(END_OF_INPUT);
        }
    }

    private long cleanupTime(long maxTimestamp) {
        return maxTimestamp > END_OF_INPUT - allowedLatenessMs ? END_OF_INPUT : maxTimestamp + allowedLatenessMs;
    }

    /** Three kinds of timer: a flush or idle check (processing time), a settle timer, or the end of the input. */
    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        if (ctx.timeDomain() == TimeDomain.PROCESSING_TIME) {
            onFlushOrIdleCheck(timestamp, ctx, out);
        } else if (timestamp == END_OF_INPUT) {
            onEndOfInput(ctx, out);
        } else {
            onSettle(ctx, out);
        }
    }

    /** The watermark passed a pending stamp: every event published before it has arrived, the clock may move on. */
    private void onSettle(OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        EventClock clock = clock();
        if (clock.settle(ctx.timerService().currentWatermark())) {
            if (clock.pastDeadline()) {
                closeWindows(clock, ctx.timerService().currentProcessingTime(), ctx.getCurrentKey(), ctx, out);
            }
            clock.write(clocks);
        }
    }

    /**
     * End of a bounded input (a test, a drained stop-with-savepoint): every window is complete, so each fires final.
     * The key's clock and state stay as they are: were more input to follow after all, it is judged by the key's own
     * clock as before, and a window updated later fires again with a higher version.
     */
    private void onEndOfInput(OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        for (WindowSize size : WindowSize.values()) {
            for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                if (!window.getValue().finalFired() || window.getValue().dirty()) {
                    fire(ctx.getCurrentKey(), size, window.getKey(), window.getValue(), true, now, out);
                }
            }
        }
        fireUserDays(ctx.getCurrentKey(), clock(), now, ctx, null);
    }

    /**
     * A processing-time timer: a fine flush fires the changed minute windows, a coarse one every changed window and
     * the changed user days; an idle check may run the clock on for a silent key.
     */
    private void onFlushOrIdleCheck(long timestamp, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        EventClock clock = clock();
        boolean fine = clock.takeFlush(EventClock.Cadence.FINE, timestamp, now);
        boolean coarse = clock.takeFlush(EventClock.Cadence.COARSE, timestamp, now);
        for (WindowSize size : WindowSize.values()) {
            if (coarse || (fine && !coarse(size))) {
                for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                    if (window.getValue().dirty()) {
                        boolean isFinal = size.maxTimestamp(window.getKey()) <= clock.time();
                        fire(ctx.getCurrentKey(), size, window.getKey(), window.getValue(), isFinal, now, out);
                    }
                }
            }
        }
        if (coarse) {
            fireUserDays(ctx.getCurrentKey(), clock, now, ctx, null);
        }
        if (clock.takeIdleCheck(timestamp)
                && clock.runOnIfIdle(now, ctx.timerService().currentWatermark(), ctx.timerService())) {
            if (clock.pastDeadline()) {
                closeWindows(clock, now, ctx.getCurrentKey(), ctx, out);
            }
            clock.checkIdleAgain(now, ctx.timerService());
        }
        clock.write(clocks);
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
        acc.version = nextVersion(acc.version(), acc.count(), isFinal, now);
        acc.dirty = false;
        acc.finalFired |= isFinal;
        windows.get(size.ordinal()).put(start, acc);
        int bar = key.indexOf('|');
        WindowFiring firing = WindowFiring.of(key.substring(0, bar), key.substring(bar + 1), size, start, acc, isFinal, now);
        firing.recompute = meetsSpan(backfilled.value(), start, start + size.millis());
        out.collect(firing);
        windowFirings.inc();
    }

    /**
     * A backfill's notice: it committed history rows of this key in [from, to) and recomputed their windows. From now
     * on a window meeting the span fires as a recomputation request; every window of the span is recomputed once more
     * after this checkpoint's commit (a firing of this job that was committed after the backfill's recomputation may
     * have hidden it); windows held here fire again at the next coarse flush, so dashboards get their new figures.
     */
    private void onBackfilled(CsrEvent notice, Context ctx) throws Exception {
        long from = notice.occurredAtMs;
        long to = notice.backfilledUntilMs();
        long now = ctx.timerService().currentProcessingTime();
        EventClock clock = clock();
        if (!pastCleanup(to, clock.time())) { // a span this key's clock is past needs no keeping: its events are too late
            backfilled.update(addSpan(backfilled.value(), from, to));
        }
        for (WindowSize size : WindowSize.values()) {
            ctx.output(RECOMPUTES, RecomputeRequests.row(notice.companyId, notice.name, size, size.startOf(from),
                    size.startOf(to - 1) + size.millis(), true, notice.flag, RecomputeRequests.NOTICE, now));
        }
        boolean held = false;
        for (WindowSize size : WindowSize.values()) {
            MapState<Long, WindowAccumulator> state = windows.get(size.ordinal());
            for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                if (window.getKey() < to && from < window.getKey() + size.millis()) {
                    window.getValue().dirty = true;
                    state.put(window.getKey(), window.getValue());
                    held = true;
                }
            }
        }
        if (held) {
            clock.scheduleFlush(EventClock.Cadence.COARSE, now, ctx.timerService());
            clock.write(clocks);
        }
    }

    /** {@code spans} (sorted, disjoint [from, to) pairs, or null) with [from, to) added, overlapping ones merged. */
    static long[] addSpan(long[] spans, long from, long to) {
        List<long[]> all = new ArrayList<>();
        for (int i = 0; spans != null && i < spans.length; i += 2) {
            all.add(new long[] {spans[i], spans[i + 1]});
        }
        all.add(new long[] {from, to});
        all.sort((a, b) -> Long.compare(a[0], b[0]));
        long[] out = new long[all.size() * 2];
        int n = 0;
        for (long[] span : all) {
            if (n > 0 && span[0] <= out[n - 1]) {
                out[n - 1] = Math.max(out[n - 1], span[1]);
            } else {
                out[n++] = span[0];
                out[n++] = span[1];
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** Whether every window meeting a span that ends at {@code spanEnd} is past cleanup at {@code clock}. */
    private boolean pastCleanup(long spanEnd, long clock) {
        return cleanupTime(WindowSize.DAY.maxTimestamp(WindowSize.DAY.startOf(spanEnd - 1))) <= clock;
    }

    /** The backfilled spans of the key in context (tests). */
    long[] spansOfCurrentKey() throws Exception {
        return backfilled.value();
    }

    /** Whether the window [start, end) meets one of {@code spans}. */
    static boolean meetsSpan(long[] spans, long start, long end) {
        for (int i = 0; spans != null && i < spans.length; i += 2) {
            if (spans[i] < end && start < spans[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * Drops the spans whose every window is past cleanup at {@code clockNow}: the day window holding a span's last
     * millisecond ends last of them. A later event of such a window is too late, and its correction recomputes.
     */
    private void pruneSpans(long clockNow) throws Exception {
        long[] spans = backfilled.value();
        if (spans == null) {
            return;
        }
        int keep = 0;
        long[] out = new long[spans.length];
        for (int i = 0; i < spans.length; i += 2) {
            if (!pastCleanup(spans[i + 1], clockNow)) {
                out[keep++] = spans[i];
                out[keep++] = spans[i + 1];
            }
        }
        if (keep == 0) {
            backfilled.clear();
        } else if (keep < spans.length) {
            backfilled.update(Arrays.copyOf(out, keep));
        }
    }


    /** Counts the event in its user's day (the day window starting at {@code dayStart} counted it). */
    private void addToUserDay(long dayStart, CsrEvent event) throws Exception {
        String key = dayStart + "|" + event.userId;
        byte[] bytes = userDays.get(key);
        UserDayAccumulator acc = bytes == null ? new UserDayAccumulator() : UserDayAccumulator.fromBytes(bytes);
        boolean wasDirty = acc.dirty;
        acc.add(event.value);
        userDays.put(key, acc.toBytes());
        if (!wasDirty) {
            userDaysDirty.add(key);
        }
    }

    /**
     * Fires the changed user days ({@code day} null: of every day; else of that day, whose state is then removed, as
     * its day window is). A day in a backfilled span or from before {@link EventClock#userDaysFrom} is not written from state:
     * its day window's recomputation request recomputes its user days ({@code correction.UserDayRecompute}).
     */
    private void fireUserDays(String key, EventClock clock, long now, Context ctx, Long day) throws Exception {
        Iterable<String> dirty = userDaysDirty.get();
        if (dirty == null && day == null) {
            return;
        }
        int bar = key.indexOf('|');
        String company = key.substring(0, bar);
        String metric = key.substring(bar + 1);
        long[] spans = backfilled.value();
        long from = clock.userDaysFrom();
        TreeSet<Long> upgraded = new TreeSet<>();
        List<String> stillDirty = new ArrayList<>();
        for (String k : dirty == null ? List.<String>of() : dirty) {
            int sep = k.indexOf('|');
            long dayStart = Long.parseLong(k.substring(0, sep));
            if (day != null && dayStart != day) {
                stillDirty.add(k);
                continue;
            }
            byte[] bytes = userDays.get(k);
            if (bytes == null) {
                continue;
            }
            UserDayAccumulator acc = UserDayAccumulator.fromBytes(bytes);
            if (!acc.dirty) {
                continue;
            }
            acc.dirty = false;
            if (dayStart < from) {
                upgraded.add(dayStart);
            } else if (!meetsSpan(spans, dayStart, dayStart + WindowSize.DAY.millis())) {
                ctx.output(USER_DAYS, UserDayFiring.of(company, metric, k.substring(sep + 1), dayStart, acc, now));
            }
            if (day == null) {
                userDays.put(k, acc.toBytes());
            }
        }
        for (long dayStart : upgraded) {
            ctx.output(RECOMPUTES, RecomputeRequests.row(company, metric, WindowSize.DAY, dayStart,
                    dayStart + WindowSize.DAY.millis(), false, false, RecomputeRequests.USER_DAYS, now));
        }
        if (day == null) {
            userDaysDirty.clear();
            return;
        }
        userDaysDirty.update(stillDirty);
        List<String> gone = new ArrayList<>();
        String prefix = day + "|";
        for (String k : userDays.keys()) {
            if (k.startsWith(prefix)) {
                gone.add(k);
            }
        }
        for (String k : gone) {
            userDays.remove(k);
        }
    }

    /** Major 2·count + final with the tag of a firing at {@code now}, but never at or below the last emitted version. */
    static long nextVersion(long lastVersion, long count, boolean isFinal, long now) {
        return UpdateVersion.next(lastVersion, 2 * count + (isFinal ? 1 : 0), now);
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
