package io.csr.job.aggregate;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.array.LongPrimitiveArraySerializer;
import org.apache.flink.streaming.api.TimerService;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The event-time clock of one (company, metric) key and the timers that keep it: what {@link WindowAggregator}
 * judges lateness by and fires windows final by, kept in the key's one {@code long[]} state entry.
 *
 * <p><b>Per key, never Flink's shared watermark.</b> The clock is the highest {@code occurredAt} the key has settled
 * less {@code outOfOrdernessMs}, and never goes back. One company's backlog, silence or skewed clock therefore never
 * makes another company's events late (with a job-wide watermark, a company publishing yesterday's observations while
 * another publishes live ones saw every one of them go to {@code late_events}). Per metric rather than per company
 * because that is the finest isolation that costs nothing: the window operator is keyed by (company, metric) already.
 *
 * <p><b>Stream order, although a keyBy interleaves.</b> A key's events reach the window operator from every dedup
 * subtask, so one published later can overtake one published earlier by however much sits in the other channel's
 * buffers (in a backlog, hours of {@code occurredAt} for a sparse key). So when records carry the source's stream time
 * (their JetStream timestamp, "stamp", with watermarks in the same clock: {@code BoundedJetStreamReader}), an event
 * {@link #observe observed} before the watermark has passed its stamp is <em>pending</em>: counted in its windows as
 * usual, but its {@code occurredAt} waits in one of two pending slots (one event-time timer each, stamps rounded up to
 * {@link #SETTLE_GRANULARITY_MS}) until the watermark {@link #settle settles} it, i.e. until every event published
 * before it has arrived, whichever channel it took. An arriving event is {@link #judge judged} by the clock plus the
 * pending events published before it. Records without a stamp (other sources, tests) settle on arrival.
 *
 * <p><b>Idleness.</b> A key silent for {@code idleMs} lets its clock run on from then on (the highest settled
 * {@code occurredAt} − out-of-orderness + the silence beyond {@code idleMs}), so a company that goes quiet still gets
 * its windows finalised. With stamps, silence is stream time (watermark − the key's last stamp): a job that was down
 * for an hour, or is still reading that hour's backlog, has not seen an hour of silence. Without, processing time.
 *
 * <p><b>Two flush cadences</b> (processing time, leading edge, one pending timer each): {@link Cadence#FINE} for the
 * minute windows of live events, {@link Cadence#COARSE} for everything else; see {@link WindowAggregator}.
 *
 * <p>The state entry is read and written whole, once per event (one state access instead of one per value). Its
 * slots are positions in savepoints, so they are only ever appended to; entries written by older versions are
 * extended on {@link #read}.
 */
final class EventClock {
    /** An unset slot: no time yet, no pending timer. */
    static final long UNSET = Long.MIN_VALUE;
    /** The deadline of a key that holds no windows. */
    static final long NONE = Long.MAX_VALUE;
    /** A pending event's stamp is rounded up to this for its settle timer: at most one timer per key and step. */
    static final long SETTLE_GRANULARITY_MS = 100;
    /** {@link #userDaysFrom()} of a key whose user days were counted from its first event. */
    static final long USER_DAYS_COMPLETE = Long.MIN_VALUE + 1;

    // The slots of the state entry, by position (savepoints hold them so: append only).
    private static final int CLOCK = 0;
    private static final int MAX_SETTLED = 1;
    private static final int LAST_EVENT_AT = 2;
    private static final int NEXT_DEADLINE = 3;
    private static final int IDLE_CHECK = 4;
    private static final int PENDING_FINE_FLUSH = 5;
    private static final int LAST_FINE_FLUSH = 6;
    /** Entries written before the coarse cadence end here. */
    private static final int PENDING_COARSE_FLUSH = 7;
    private static final int LAST_COARSE_FLUSH = 8;
    /** Entries written before stream time end here. */
    private static final int LAST_STAMP = 9;
    private static final int SETTLE_AT = 10;
    private static final int SETTLE_MAX = 11;
    private static final int NEXT_SETTLE_AT = 12;
    private static final int NEXT_SETTLE_MAX = 13;
    /** Entries written before per-user days end here. */
    private static final int USER_DAYS_FROM = 14;
    private static final int SLOTS = 15;

    /** The two flush cadences, each a pending processing-time timer and the time of its last flush. */
    enum Cadence {
        /** Minute windows of live events (UPDATE_INTERVAL_MS). */
        FINE(PENDING_FINE_FLUSH, LAST_FINE_FLUSH),
        /** Every other change (COARSE_UPDATE_INTERVAL_MS): a coarse flush fires every dirty window. */
        COARSE(PENDING_COARSE_FLUSH, LAST_COARSE_FLUSH);

        private final int pending;
        private final int last;

        Cadence(int pending, int last) {
            this.pending = pending;
            this.last = last;
        }
    }

    /** What every key's clock is configured with. */
    record Settings(long outOfOrdernessMs, long idleMs, long fineIntervalMs, long coarseIntervalMs) implements Serializable {
        long interval(Cadence cadence) {
            return cadence == Cadence.FINE ? fineIntervalMs : coarseIntervalMs;
        }
    }

    /** Where a key restored from before per-user days finds the end of the latest day window it holds. */
    @FunctionalInterface
    interface HeldDays {
        /** The end of the latest day window held, or {@link #USER_DAYS_COMPLETE} when none is. */
        long latestEnd() throws Exception;
    }

    private final long[] slots;
    private final Settings settings;

    private EventClock(long[] slots, Settings settings) {
        this.slots = slots;
        this.settings = settings;
    }

    /** The keyed state every key's clock lives in; its name and serializer are what savepoints hold. */
    static ValueStateDescriptor<long[]> stateDescriptor() {
        return new ValueStateDescriptor<>("event-time", LongPrimitiveArraySerializer.INSTANCE);
    }

    /** The current key's clock: a fresh one, or the stored one, extended if an older version wrote it. */
    static EventClock read(ValueState<long[]> state, Settings settings, HeldDays heldDays) throws Exception {
        long[] stored = state.value();
        if (stored == null) {
            long[] t = new long[SLOTS];
            Arrays.fill(t, UNSET);
            t[NEXT_DEADLINE] = NONE;
            t[USER_DAYS_FROM] = USER_DAYS_COMPLETE;
            return new EventClock(t, settings);
        }
        if (stored.length >= SLOTS) {
            return new EventClock(stored, settings);
        }
        int had = stored.length;
        long[] t = Arrays.copyOf(stored, SLOTS);
        Arrays.fill(t, had, SLOTS, UNSET);
        if (had <= USER_DAYS_FROM) { // restored from before per-user days: the days it holds are not complete
            t[USER_DAYS_FROM] = heldDays.latestEnd();
        }
        if (had <= PENDING_COARSE_FLUSH) { // written before the coarse cadence: its pending flush covered every size
            t[PENDING_COARSE_FLUSH] = t[PENDING_FINE_FLUSH];
            t[LAST_COARSE_FLUSH] = t[LAST_FINE_FLUSH];
        }
        return new EventClock(t, settings);
    }

    void write(ValueState<long[]> state) throws Exception {
        state.update(slots);
    }

    /** The event time up to which this key's windows are complete; never goes back. {@link #UNSET} before any. */
    long time() {
        return slots[CLOCK];
    }

    /**
     * The clock an arriving event with {@code stamp} is judged late by: the clock, or, when pending events were
     * published before this one (their slot's stamp below its stamp), what they would make it. Those precede it in
     * the stream even though the watermark has not passed them yet (after a restore, the first watermark is ~200 ms
     * behind the records), so an event is judged by everything published before it that has arrived, without moving
     * the clock, which must wait for what may still be in another channel.
     */
    long judge(long stamp) {
        long judge = slots[CLOCK];
        if (stamp != UNSET && slots[SETTLE_AT] != UNSET && slots[SETTLE_AT] < stamp) {
            judge = Math.max(judge, slots[SETTLE_MAX] - settings.outOfOrdernessMs());
            if (slots[NEXT_SETTLE_AT] != UNSET && slots[NEXT_SETTLE_AT] < stamp) {
                judge = Math.max(judge, slots[NEXT_SETTLE_MAX] - settings.outOfOrdernessMs());
            }
        }
        return judge;
    }

    /**
     * An event of this key arrived at processing time {@code now} with {@code stamp} ({@link #UNSET}: none): its
     * {@code occurredAt} moves the clock at once if the watermark has passed the stamp, else it is pending.
     */
    void observe(long occurredAtMs, long stamp, long now, TimerService timers) {
        if (stamp == UNSET || stamp <= timers.currentWatermark()) {
            slots[MAX_SETTLED] = Math.max(slots[MAX_SETTLED], occurredAtMs);
        } else {
            pend(stamp, occurredAtMs, timers);
        }
        slots[LAST_EVENT_AT] = now;
        if (stamp != UNSET) {
            slots[LAST_STAMP] = Math.max(slots[LAST_STAMP], stamp);
        }
        runOn();
    }

    /**
     * Holds an event's occurredAt back until the watermark passes its stamp: into the first pending slot when its
     * (rounded) stamp is at most that slot's, else into the second, whose timer moves up with it.
     */
    private void pend(long stamp, long occurredAtMs, TimerService timers) {
        long at = -Math.floorDiv(-stamp, SETTLE_GRANULARITY_MS) * SETTLE_GRANULARITY_MS; // rounded up
        if (slots[SETTLE_AT] == UNSET) {
            timers.registerEventTimeTimer(at);
            slots[SETTLE_AT] = at;
            slots[SETTLE_MAX] = occurredAtMs;
        } else if (at <= slots[SETTLE_AT]) {
            slots[SETTLE_MAX] = Math.max(slots[SETTLE_MAX], occurredAtMs);
        } else if (slots[NEXT_SETTLE_AT] == UNSET) {
            timers.registerEventTimeTimer(at);
            slots[NEXT_SETTLE_AT] = at;
            slots[NEXT_SETTLE_MAX] = occurredAtMs;
        } else {
            if (at > slots[NEXT_SETTLE_AT]) {
                timers.deleteEventTimeTimer(slots[NEXT_SETTLE_AT]);
                timers.registerEventTimeTimer(at);
                slots[NEXT_SETTLE_AT] = at;
            }
            slots[NEXT_SETTLE_MAX] = Math.max(slots[NEXT_SETTLE_MAX], occurredAtMs);
        }
    }

    /**
     * The watermark reached a settle timer: what it has passed leaves the pending slots and moves the clock. Whether
     * anything settled (a timer of a slot that has moved up settles nothing).
     */
    boolean settle(long watermark) {
        boolean moved = false;
        while (slots[SETTLE_AT] != UNSET && slots[SETTLE_AT] <= watermark) {
            slots[MAX_SETTLED] = Math.max(slots[MAX_SETTLED], slots[SETTLE_MAX]);
            slots[SETTLE_AT] = slots[NEXT_SETTLE_AT];
            slots[SETTLE_MAX] = slots[NEXT_SETTLE_MAX];
            slots[NEXT_SETTLE_AT] = UNSET;
            slots[NEXT_SETTLE_MAX] = UNSET;
            moved = true;
        }
        if (moved) {
            runOn();
        }
        return moved;
    }

    /** The clock follows the highest settled occurredAt, never backwards. */
    private void runOn() {
        if (slots[MAX_SETTLED] != UNSET) {
            slots[CLOCK] = Math.max(slots[CLOCK], slots[MAX_SETTLED] - settings.outOfOrdernessMs());
        }
    }

    /** The earliest clock at which a window of this key must fire final or be cleaned up; {@link #NONE}: no window. */
    long deadline() {
        return slots[NEXT_DEADLINE];
    }

    void deadline(long deadline) {
        slots[NEXT_DEADLINE] = deadline;
    }

    boolean holdsWindows() {
        return slots[NEXT_DEADLINE] != NONE;
    }

    /** Whether the clock has reached the deadline: windows to fire final or clean up. */
    boolean pastDeadline() {
        return slots[CLOCK] >= slots[NEXT_DEADLINE];
    }

    /** A flush of {@code cadence} at most every its interval: at once if the last was long enough ago, else then. */
    void scheduleFlush(Cadence cadence, long now, TimerService timers) {
        if (slots[cadence.pending] != UNSET) {
            return;
        }
        long last = slots[cadence.last];
        long at = last == UNSET ? now : Math.max(now, last + settings.interval(cadence));
        timers.registerProcessingTimeTimer(at);
        slots[cadence.pending] = at;
    }

    /** Whether the processing-time timer at {@code timestamp} is {@code cadence}'s flush; if so, it is done at {@code now}. */
    boolean takeFlush(Cadence cadence, long timestamp, long now) {
        long pending = slots[cadence.pending];
        if (pending == UNSET || pending > timestamp) {
            return false;
        }
        slots[cadence.pending] = UNSET;
        slots[cadence.last] = now;
        return true;
    }

    /** While the key holds windows, an idle check is pending: due {@code idleMs} after {@code now} when none was. */
    void watchIdleness(long now, TimerService timers) {
        if (slots[IDLE_CHECK] == UNSET && holdsWindows()) {
            checkIdleAt(now + settings.idleMs(), timers);
        }
    }

    /** Whether the processing-time timer at {@code timestamp} is the idle check; if so, it is no longer pending. */
    boolean takeIdleCheck(long timestamp) {
        if (slots[IDLE_CHECK] == UNSET || slots[IDLE_CHECK] > timestamp) {
            return false;
        }
        slots[IDLE_CHECK] = UNSET;
        return true;
    }

    /**
     * The idle check: if the key has been silent for {@code idleMs}, the clock runs on by the silence beyond it and
     * this answers true (the caller then fires what the clock passed and calls {@link #checkIdleAgain}); else the
     * next check is scheduled for when the silence would reach it. With stream time the silence is the watermark less
     * the key's last stamp; no watermark yet (just restored) is no silence, and the final watermark of a bounded input
     * is none either (it must not make later input late).
     */
    boolean runOnIfIdle(long now, long watermark, TimerService timers) {
        if (!holdsWindows()) {
            return false;
        }
        long silence;
        if (slots[LAST_STAMP] != UNSET) {
            silence = watermark == Long.MIN_VALUE || watermark == Long.MAX_VALUE ? 0 : Math.max(0, watermark - slots[LAST_STAMP]);
        } else {
            silence = now - (slots[LAST_EVENT_AT] == UNSET ? now : slots[LAST_EVENT_AT]);
        }
        if (slots[MAX_SETTLED] == UNSET) { // nothing settled yet: no clock to run on
            checkIdleAt(now + settings.idleMs(), timers);
            return false;
        }
        if (silence < settings.idleMs()) {
            checkIdleAt(now + (settings.idleMs() - silence), timers);
            return false;
        }
        long idleClock = slots[MAX_SETTLED] - settings.outOfOrdernessMs() + (silence - settings.idleMs());
        slots[CLOCK] = Math.max(slots[CLOCK], idleClock);
        return true;
    }

    /** After the clock ran on for silence: the next check when it would reach the deadline, if windows are left. */
    void checkIdleAgain(long now, TimerService timers) {
        if (holdsWindows()) {
            checkIdleAt(now + Math.max(1L, slots[NEXT_DEADLINE] - slots[CLOCK]), timers);
        }
    }

    private void checkIdleAt(long at, TimerService timers) {
        timers.registerProcessingTimeTimer(at);
        slots[IDLE_CHECK] = at;
    }

    /** The key holds no windows any more: its flush and idle timers go too, so a quiet key holds no timers. */
    void releaseTimers(TimerService timers) {
        for (Cadence cadence : Cadence.values()) {
            if (slots[cadence.pending] != UNSET) {
                timers.deleteProcessingTimeTimer(slots[cadence.pending]);
            }
        }
        if (slots[IDLE_CHECK] != UNSET) {
            timers.deleteProcessingTimeTimer(slots[IDLE_CHECK]);
        }
        for (Cadence cadence : Cadence.values()) {
            slots[cadence.pending] = UNSET;
            slots[cadence.last] = UNSET;
        }
        slots[IDLE_CHECK] = UNSET;
    }

    /**
     * The first day whose user days this key's state holds completely: {@link #USER_DAYS_COMPLETE} for a key that was
     * new when user days were first counted, else the day after the latest day window its (older) state held then.
     */
    long userDaysFrom() {
        return slots[USER_DAYS_FROM];
    }
}
