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
import org.apache.flink.api.common.typeutils.base.array.LongPrimitiveArraySerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.Arrays;
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
 * {@code idleMs} lets its clock run on from then on, so a company that goes quiet still gets its windows finalised
 * (the 1-minute window about a minute after, the day window after the day).
 *
 * <p><b>Stream order, although a keyBy interleaves.</b> A key's events reach this operator from every dedup subtask,
 * so one published later can overtake one published earlier by however much sits in the other channel's buffers —
 * in a backlog, thousands of events, which for a sparse key can be hours of {@code occurredAt}. Moving the clock on
 * arrival made the overtaken ones late. So when records carry the source's stream time (their JetStream timestamp,
 * with watermarks in the same clock: {@code BoundedJetStreamReader}), an event moves its key's clock only once the
 * watermark has passed its stamp, i.e. once every event published before it has arrived, whichever channel it took.
 * Until then it is counted in its windows as usual and only its {@code occurredAt} waits (two pending slots per key,
 * one event-time timer each, stamps rounded up to {@link #SETTLE_GRANULARITY_MS}); an arriving event is judged late
 * by the clock plus the pending events published before it. Silence is then measured in stream
 * time as well (watermark − the key's last stamp): a job that was down for an hour, or is still reading the backlog of
 * that hour, has not seen an hour of silence. Records without a timestamp (other sources, tests) move the clock on
 * arrival and measure silence in processing time, as before.
 *
 * <ul>
 *   <li><b>early</b>: while a window is open, a changed window is published at most every {@code updateIntervalMs}
 *       of processing time for the 1-minute window and every {@code coarseUpdateIntervalMs} for the 1-hour and 1-day
 *       windows (one pending processing-time timer per key and cadence; none while nothing changes). The minute
 *       window is what a live dashboard watches move, so it gets the short cadence (UPDATE_INTERVAL_MS, 20 ms: an
 *       event reaches the browser in tens of milliseconds even when its key receives dozens per second); the hour and
 *       day windows change by a fraction of a percent per event, and their slower cadence
 *       (COARSE_UPDATE_INTERVAL_MS, 250 ms) keeps the firings, Redis entries and metric_windows rows per event low.
 *       The short cadence is for live events only: an event more than {@link #LIVE_LAG_MS} older than the wall clock
 *       (a backlog being caught up, a backfill) leaves its minute window to the coarse flush, which fires every dirty
 *       window — catching up, nobody watches the intermediate values, and a 20 ms cadence on every key cost about a
 *       tenth of the backlog ingest rate;</li>
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
    private static final long UNSET = Long.MIN_VALUE;
    private static final int CLOCK = 0;
    private static final int MAX_OCCURRED = 1;
    private static final int LAST_EVENT_AT = 2;
    private static final int NEXT_DEADLINE = 3;
    private static final int IDLE_CHECK = 4;
    private static final int PENDING_FLUSH = 5;
    private static final int LAST_FLUSH = 6;
    private static final int PENDING_COARSE_FLUSH = 7;
    private static final int LAST_COARSE_FLUSH = 8;
    private static final int LAST_STAMP = 9;
    private static final int SETTLE_AT = 10;
    private static final int SETTLE_MAX = 11;
    private static final int NEXT_SETTLE_AT = 12;
    private static final int NEXT_SETTLE_MAX = 13;
    /** A pending event's stamp is rounded up to this for its settle timer: at most one timer per key and step. */
    static final long SETTLE_GRANULARITY_MS = 100;
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
     * Slots of the per-key bookkeeping; state written before the coarse cadence existed has 7, before stream time 9,
     * and is extended.
     */
    private static final int SLOTS = 14;
    /** The event-time timer that only the final watermark of a bounded input reaches (the job has no other watermarks). */
    private static final long END_OF_INPUT = Long.MAX_VALUE - 1;

    /** Valid numeric events that were too late for at least one of their windows: {@code late_events} rows. */
    public static final OutputTag<TableRow> LATE_EVENTS = new OutputTag<>("late-events") {
    };
    /** Every numeric event this operator received (on time or not): becomes its {@code metrics_timeseries} row. */
    public static final OutputTag<CsrEvent> OBSERVATIONS = new OutputTag<>("observations") {
    };

    private final long updateIntervalMs;
    private final long coarseUpdateIntervalMs;
    private final long allowedLatenessMs;
    private final long outOfOrdernessMs;
    private final long idleMs;

    /** Per window size: windowStart → accumulator. */
    private transient List<MapState<Long, WindowAccumulator>> windows;
    /**
     * This key's event-time and timer bookkeeping in one state entry (one read and one write per event instead of
     * seven): its clock (the event time up to which its windows are complete; never goes back), highest occurredAt,
     * processing time of its last event (idleness), the earliest clock value at which a window must fire final or be
     * cleaned up, the pending idle-check timer, and per cadence (minute; hour and day) the pending flush timer and the
     * last flush. {@link #UNSET} marks "none".
     */
    private transient ValueState<long[]> time;
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
        this.updateIntervalMs = updateIntervalMs;
        this.coarseUpdateIntervalMs = Math.max(updateIntervalMs, coarseUpdateIntervalMs);
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
        time = getRuntimeContext().getState(new ValueStateDescriptor<>("event-time", LongPrimitiveArraySerializer.INSTANCE));
        eventsLate = getRuntimeContext().getMetricGroup().counter("eventsLate");
        windowFirings = getRuntimeContext().getMetricGroup().counter("windowFirings");
    }

    private long[] time() throws Exception {
        long[] t = time.value();
        if (t == null) {
            t = new long[SLOTS];
            Arrays.fill(t, UNSET);
            t[NEXT_DEADLINE] = NONE;
            return t;
        }
        if (t.length < SLOTS) {
            int had = t.length;
            t = Arrays.copyOf(t, SLOTS);
            Arrays.fill(t, had, SLOTS, UNSET);
            if (had <= PENDING_COARSE_FLUSH) { // written before the coarse cadence: its pending flush covered every size
                t[PENDING_COARSE_FLUSH] = t[PENDING_FLUSH];
                t[LAST_COARSE_FLUSH] = t[LAST_FLUSH];
            }
        }
        return t;
    }

    /** The record's stream time, or {@link #UNSET} when its source gives none. */
    private static long stampOf(Context ctx) {
        Long stamp = ctx.timestamp();
        return stamp == null ? UNSET : stamp; // a source without timestamps gives Long.MIN_VALUE = UNSET
    }

    private static boolean coarse(WindowSize size) {
        return size != WindowSize.MINUTE;
    }

    @Override
    public void processElement(CsrEvent event, Context ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        long[] t = time();
        long clockNow = t[CLOCK];
        long stamp = stampOf(ctx);
        long judge = judgingClock(t, clockNow, stamp);
        long deadline = t[NEXT_DEADLINE];
        boolean hadWindows = deadline != NONE;
        boolean changed = false;
        boolean changedCoarse = false;
        boolean tooLate = false;
        ctx.output(OBSERVATIONS, event);
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
            if (coarse(size) || !isLive(event, now)) {
                changedCoarse = true;
            } else {
                changed = true;
            }
        }
        if (tooLate) {
            eventsLate.inc();
        }
        t[NEXT_DEADLINE] = deadline;
        if (stamp == UNSET || stamp <= ctx.timerService().currentWatermark()) {
            t[MAX_OCCURRED] = Math.max(t[MAX_OCCURRED], event.occurredAtMs);
        } else {
            pend(t, stamp, event.occurredAtMs, ctx.timerService());
        }
        t[LAST_EVENT_AT] = now;
        if (stamp != UNSET) {
            t[LAST_STAMP] = Math.max(t[LAST_STAMP], stamp);
        }
        long advanced = clockFrom(t, clockNow);
        t[CLOCK] = advanced;

        if (changed) {
            scheduleFlush(t, PENDING_FLUSH, LAST_FLUSH, updateIntervalMs, now, ctx.timerService());
        }
        if (changedCoarse) {
            scheduleFlush(t, PENDING_COARSE_FLUSH, LAST_COARSE_FLUSH, coarseUpdateIntervalMs, now, ctx.timerService());
        }
        if (advanced >= deadline) {
            advance(t, advanced, now, ctx.getCurrentKey(), ctx.timerService(), out);
        }
        if (t[IDLE_CHECK] == UNSET && t[NEXT_DEADLINE] != NONE) {
            registerIdleCheck(t, now + idleMs, ctx.timerService());
        }
        time.update(t);
    }

    /**
     * The clock an arriving event is judged late by: the key's clock, or, when pending events were all published
     * before this one (their slot's stamp below its stamp), what they would make it. Those precede it in the stream
     * even though the watermark has not passed them yet (after a restore, the first watermark is ~200 ms behind the
     * records), so an event is judged by everything published before it that has arrived — without moving the clock,
     * which must wait for what may still be in another channel.
     */
    private long judgingClock(long[] t, long clockNow, long stamp) {
        long judge = clockNow;
        if (stamp != UNSET && t[SETTLE_AT] != UNSET && t[SETTLE_AT] < stamp) {
            judge = Math.max(judge, t[SETTLE_MAX] - outOfOrdernessMs);
            if (t[NEXT_SETTLE_AT] != UNSET && t[NEXT_SETTLE_AT] < stamp) {
                judge = Math.max(judge, t[NEXT_SETTLE_MAX] - outOfOrdernessMs);
            }
        }
        return judge;
    }

    /** The clock the highest settled occurredAt gives, never behind {@code clockNow}. */
    private long clockFrom(long[] t, long clockNow) {
        return t[MAX_OCCURRED] == UNSET ? clockNow : Math.max(clockNow, t[MAX_OCCURRED] - outOfOrdernessMs);
    }

    /**
     * Holds an event's occurredAt back from the clock until the watermark passes its stamp: into the first pending
     * slot when its (rounded) stamp is at most that slot's, else into the second, whose timer moves up with it.
     */
    private static void pend(long[] t, long stamp, long occurredAtMs, TimerService timers) {
        long at = -Math.floorDiv(-stamp, SETTLE_GRANULARITY_MS) * SETTLE_GRANULARITY_MS; // rounded up
        if (t[SETTLE_AT] == UNSET) {
            timers.registerEventTimeTimer(at);
            t[SETTLE_AT] = at;
            t[SETTLE_MAX] = occurredAtMs;
        } else if (at <= t[SETTLE_AT]) {
            t[SETTLE_MAX] = Math.max(t[SETTLE_MAX], occurredAtMs);
        } else if (t[NEXT_SETTLE_AT] == UNSET) {
            timers.registerEventTimeTimer(at);
            t[NEXT_SETTLE_AT] = at;
            t[NEXT_SETTLE_MAX] = occurredAtMs;
        } else {
            if (at > t[NEXT_SETTLE_AT]) {
                timers.deleteEventTimeTimer(t[NEXT_SETTLE_AT]);
                timers.registerEventTimeTimer(at);
                t[NEXT_SETTLE_AT] = at;
            }
            t[NEXT_SETTLE_MAX] = Math.max(t[NEXT_SETTLE_MAX], occurredAtMs);
        }
    }

    /** Moves what the watermark has passed from the pending slots into the highest settled occurredAt. */
    private static boolean settle(long[] t, long watermark) {
        boolean moved = false;
        while (t[SETTLE_AT] != UNSET && t[SETTLE_AT] <= watermark) {
            t[MAX_OCCURRED] = Math.max(t[MAX_OCCURRED], t[SETTLE_MAX]);
            t[SETTLE_AT] = t[NEXT_SETTLE_AT];
            t[SETTLE_MAX] = t[NEXT_SETTLE_MAX];
            t[NEXT_SETTLE_AT] = UNSET;
            t[NEXT_SETTLE_MAX] = UNSET;
            moved = true;
        }
        return moved;
    }

    /** Fires final every window the clock passed the end of, removes those past end + lateness, finds the next deadline. */
    private void advance(long[] t, long clockNow, long now, String key, TimerService timers,
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
        t[NEXT_DEADLINE] = deadline;
        if (deadline == NONE) {
            // Nothing left for this key: drop the flush and idle timers too, so a quiet key holds no timers.
            if (t[PENDING_FLUSH] != UNSET) {
                timers.deleteProcessingTimeTimer(t[PENDING_FLUSH]);
            }
            if (t[PENDING_COARSE_FLUSH] != UNSET) {
                timers.deleteProcessingTimeTimer(t[PENDING_COARSE_FLUSH]);
            }
            if (t[IDLE_CHECK] != UNSET) {
                timers.deleteProcessingTimeTimer(t[IDLE_CHECK]);
            }
            timers.deleteEventTimeTimer(END_OF_INPUT);
            t[PENDING_FLUSH] = UNSET;
            t[LAST_FLUSH] = UNSET;
            t[PENDING_COARSE_FLUSH] = UNSET;
            t[LAST_COARSE_FLUSH] = UNSET;
            t[IDLE_CHECK] = UNSET;
        }
    }

    private long cleanupTime(long maxTimestamp) {
        return maxTimestamp > END_OF_INPUT - allowedLatenessMs ? END_OF_INPUT : maxTimestamp + allowedLatenessMs;
    }

    /** One flush of a cadence ({@code pending}/{@code last} slots) at most every {@code interval}; leading edge. */
    private static void scheduleFlush(long[] t, int pending, int last, long interval, long now, TimerService timers) {
        if (t[pending] != UNSET) {
            return;
        }
        long at = t[last] == UNSET ? now : Math.max(now, t[last] + interval);
        timers.registerProcessingTimeTimer(at);
        t[pending] = at;
    }

    private void registerIdleCheck(long[] t, long at, TimerService timers) {
        timers.registerProcessingTimeTimer(at);
        t[IDLE_CHECK] = at;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        if (ctx.timeDomain() == TimeDomain.EVENT_TIME && timestamp != END_OF_INPUT) {
            // the watermark passed a pending stamp: every event published before it has arrived
            long[] t = time();
            if (settle(t, ctx.timerService().currentWatermark())) {
                long advanced = clockFrom(t, t[CLOCK]);
                t[CLOCK] = advanced;
                if (advanced >= t[NEXT_DEADLINE]) {
                    advance(t, advanced, now, ctx.getCurrentKey(), ctx.timerService(), out);
                }
                time.update(t);
            }
            return;
        }
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
        long[] t = time();
        boolean fine = t[PENDING_FLUSH] != UNSET && t[PENDING_FLUSH] <= timestamp;
        boolean coarse = t[PENDING_COARSE_FLUSH] != UNSET && t[PENDING_COARSE_FLUSH] <= timestamp;
        if (fine) {
            t[PENDING_FLUSH] = UNSET;
            t[LAST_FLUSH] = now;
        }
        if (coarse) {
            t[PENDING_COARSE_FLUSH] = UNSET;
            t[LAST_COARSE_FLUSH] = now;
        }
        if (fine || coarse) {
            for (WindowSize size : WindowSize.values()) {
                if (!coarse && (!fine || coarse(size))) {
                    continue; // a fine flush fires the minute window; a coarse one every dirty window
                }
                for (Map.Entry<Long, WindowAccumulator> window : sorted(size)) {
                    if (window.getValue().dirty()) {
                        boolean isFinal = size.maxTimestamp(window.getKey()) <= t[CLOCK];
                        fire(ctx.getCurrentKey(), size, window.getKey(), window.getValue(), isFinal, now, out);
                    }
                }
            }
        }
        if (t[IDLE_CHECK] != UNSET && t[IDLE_CHECK] <= timestamp) {
            t[IDLE_CHECK] = UNSET;
            onIdleCheck(t, now, ctx, out);
        }
        time.update(t);
    }

    /**
     * Silent for idleMs: the clock runs on with the wall clock from then on (highest occurredAt − out-of-orderness +
     * the silence beyond idleMs), and the next check is due when that reaches the next deadline. With stream time the
     * silence is the watermark less the key's last stamp; no watermark yet (just restored) is no silence, and the
     * final watermark of a bounded input is none either (it must not make later input late).
     */
    private void onIdleCheck(long[] t, long now, OnTimerContext ctx, Collector<WindowFiring> out) throws Exception {
        if (t[NEXT_DEADLINE] == NONE) {
            return;
        }
        long silence;
        if (t[LAST_STAMP] != UNSET) {
            long watermark = ctx.timerService().currentWatermark();
            silence = watermark == Long.MIN_VALUE || watermark == Long.MAX_VALUE ? 0 : Math.max(0, watermark - t[LAST_STAMP]);
        } else {
            silence = now - (t[LAST_EVENT_AT] == UNSET ? now : t[LAST_EVENT_AT]);
        }
        if (t[MAX_OCCURRED] == UNSET) { // nothing settled yet: no clock to run on
            registerIdleCheck(t, now + idleMs, ctx.timerService());
            return;
        }
        if (silence < idleMs) {
            registerIdleCheck(t, now + (idleMs - silence), ctx.timerService());
            return;
        }
        long idleClock = t[MAX_OCCURRED] - outOfOrdernessMs + (silence - idleMs);
        t[CLOCK] = Math.max(t[CLOCK], idleClock);
        if (t[CLOCK] >= t[NEXT_DEADLINE]) {
            advance(t, t[CLOCK], now, ctx.getCurrentKey(), ctx.timerService(), out);
        }
        if (t[NEXT_DEADLINE] != NONE) {
            registerIdleCheck(t, now + Math.max(1L, t[NEXT_DEADLINE] - t[CLOCK]), ctx.timerService());
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
