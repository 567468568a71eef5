package io.csr.job.aggregate;

import io.csr.job.aggregate.EventClock.Cadence;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.streaming.api.TimerService;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.csr.job.aggregate.EventClock.UNSET;
import static org.assertj.core.api.Assertions.assertThat;

/** One key's clock on its own: settling, pending stamps, judging, the two cadences, idleness and the state layout. */
class EventClockTest {
    private static final long OUT_OF_ORDERNESS_MS = 5_000;
    private static final long IDLE_MS = 60_000;
    private static final long FINE_MS = 20;
    private static final long COARSE_MS = 1_000;
    private static final EventClock.Settings SETTINGS = new EventClock.Settings(OUT_OF_ORDERNESS_MS, IDLE_MS, FINE_MS, COARSE_MS);
    private static final long T = 1_800_000_000_000L;
    /** Stream time (JetStream timestamps) of the records. */
    private static final long S = T + 3_600_000L;

    private final Timers timers = new Timers();
    private final Stored stored = new Stored();

    private EventClock fresh() throws Exception {
        return EventClock.read(stored, SETTINGS, () -> {
            throw new AssertionError("a fresh clock asks for no held days");
        });
    }

    @Test
    void aFreshClockHasNoTimeAndNoWindows() throws Exception {
        EventClock clock = fresh();
        assertThat(clock.time()).isEqualTo(UNSET);
        assertThat(clock.holdsWindows()).isFalse();
        assertThat(clock.deadline()).isEqualTo(EventClock.NONE);
        assertThat(clock.userDaysFrom()).isEqualTo(EventClock.USER_DAYS_COMPLETE);
    }

    @Test
    void anEventWithoutStampMovesTheClockOnArrivalAndNeverBack() throws Exception {
        EventClock clock = fresh();
        clock.observe(T, UNSET, 0, timers);
        assertThat(clock.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS);
        clock.observe(T - 60_000, UNSET, 1, timers);
        assertThat(clock.time()).as("an older event does not move it back").isEqualTo(T - OUT_OF_ORDERNESS_MS);
        assertThat(timers.eventTime).isEmpty();
    }

    @Test
    void aStampTheWatermarkHasNotPassedWaitsForItsSettleTimer() throws Exception {
        EventClock clock = fresh();
        timers.watermark = S;
        clock.observe(T, S + 1, 0, timers);
        assertThat(clock.time()).as("pending").isEqualTo(UNSET);
        assertThat(timers.eventTime).as("rounded up to the settle granularity").containsExactly(S + EventClock.SETTLE_GRANULARITY_MS);

        assertThat(clock.settle(S + 50)).as("the watermark has not reached the slot").isFalse();
        assertThat(clock.settle(S + EventClock.SETTLE_GRANULARITY_MS)).isTrue();
        assertThat(clock.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS);
    }

    @Test
    void aKeyHoldsTwoPendingSlotsTheSecondMovingUp() throws Exception {
        EventClock clock = fresh();
        timers.watermark = S;
        clock.observe(T, S + 100, 0, timers);
        clock.observe(T + 1_000, S + 200, 0, timers);
        clock.observe(T + 2_000, S + 300, 0, timers);
        assertThat(timers.eventTime).containsExactly(S + 100, S + 300);
        assertThat(timers.deletedEventTime).containsExactly(S + 200);

        assertThat(clock.settle(S + 100)).isTrue();
        assertThat(clock.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS);
        assertThat(clock.settle(S + 300)).isTrue();
        assertThat(clock.time()).as("both later events were in the second slot").isEqualTo(T + 2_000 - OUT_OF_ORDERNESS_MS);
    }

    @Test
    void anArrivingEventIsJudgedByThePendingEventsPublishedBeforeIt() throws Exception {
        EventClock clock = fresh();
        timers.watermark = S;
        clock.observe(T, S + 100, 0, timers);
        assertThat(clock.judge(S + 101)).as("published after the pending one").isEqualTo(T - OUT_OF_ORDERNESS_MS);
        assertThat(clock.judge(S + 100)).as("in the same slot: not known to come after it").isEqualTo(UNSET);
        assertThat(clock.judge(UNSET)).as("no stamp: the clock alone").isEqualTo(UNSET);
        assertThat(clock.time()).as("judging moves nothing").isEqualTo(UNSET);
    }

    @Test
    void eachCadenceFlushesOnTheLeadingEdgeAtMostEveryItsInterval() throws Exception {
        EventClock clock = fresh();
        clock.scheduleFlush(Cadence.FINE, 100, timers);
        clock.scheduleFlush(Cadence.FINE, 105, timers);
        assertThat(timers.processingTime).as("at once, and one pending at a time").containsExactly(100L);
        assertThat(clock.takeFlush(Cadence.COARSE, 100, 100)).isFalse();
        assertThat(clock.takeFlush(Cadence.FINE, 99, 99)).isFalse();
        assertThat(clock.takeFlush(Cadence.FINE, 100, 100)).isTrue();

        clock.scheduleFlush(Cadence.FINE, 110, timers);
        clock.scheduleFlush(Cadence.COARSE, 110, timers);
        assertThat(timers.processingTime).as("the fine one an interval after the last, the coarse one at once")
                .containsExactly(100L, 100 + FINE_MS, 110L);
        assertThat(clock.takeFlush(Cadence.COARSE, 110, 110)).isTrue();
        clock.scheduleFlush(Cadence.COARSE, 200, timers);
        assertThat(timers.processingTime).last().isEqualTo(110 + COARSE_MS);
    }

    @Test
    void aSilentKeysClockRunsOnByTheStreamTimeBeyondTheIdleBound() throws Exception {
        EventClock clock = fresh();
        timers.watermark = S;
        clock.observe(T, S, 0, timers);
        clock.deadline(T + 120_000);
        clock.watchIdleness(0, timers);
        assertThat(timers.processingTime).containsExactly(IDLE_MS);
        assertThat(clock.takeIdleCheck(IDLE_MS - 1)).isFalse();
        assertThat(clock.takeIdleCheck(IDLE_MS)).isTrue();

        assertThat(clock.runOnIfIdle(10 * IDLE_MS, Long.MIN_VALUE, timers)).as("no watermark yet: no silence").isFalse();
        assertThat(clock.runOnIfIdle(10 * IDLE_MS, Long.MAX_VALUE, timers)).as("end of input: no silence").isFalse();
        assertThat(clock.runOnIfIdle(10 * IDLE_MS, S + 20_000, timers)).isFalse();
        assertThat(timers.processingTime).as("checks again when the silence would reach the bound")
                .last().isEqualTo(10 * IDLE_MS + IDLE_MS - 20_000);

        assertThat(clock.runOnIfIdle(10 * IDLE_MS, S + IDLE_MS + 30_000, timers)).isTrue();
        assertThat(clock.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS + 30_000);
        clock.checkIdleAgain(10 * IDLE_MS, timers);
        assertThat(timers.processingTime).as("when the clock would reach the deadline")
                .last().isEqualTo(10 * IDLE_MS + (T + 120_000) - (T - OUT_OF_ORDERNESS_MS + 30_000));
    }

    @Test
    void withoutStampsSilenceIsProcessingTime() throws Exception {
        EventClock clock = fresh();
        clock.observe(T, UNSET, 1_000, timers);
        clock.deadline(T + 120_000);
        assertThat(clock.runOnIfIdle(1_000 + IDLE_MS - 1, S + 10 * IDLE_MS, timers)).isFalse();
        assertThat(clock.runOnIfIdle(1_000 + IDLE_MS + 7, S + 10 * IDLE_MS, timers)).isTrue();
        assertThat(clock.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS + 7);
    }

    @Test
    void aKeyWithoutWindowsLetsGoOfItsTimers() throws Exception {
        EventClock clock = fresh();
        clock.observe(T, UNSET, 0, timers);
        clock.deadline(T);
        clock.scheduleFlush(Cadence.FINE, 0, timers);
        clock.scheduleFlush(Cadence.COARSE, 1, timers);
        clock.watchIdleness(2, timers);
        clock.deadline(EventClock.NONE);
        clock.releaseTimers(timers);
        assertThat(timers.deletedProcessingTime).containsExactlyInAnyOrder(0L, 1L, 2 + IDLE_MS);
        assertThat(clock.runOnIfIdle(10 * IDLE_MS, Long.MIN_VALUE, timers)).isFalse();
        clock.scheduleFlush(Cadence.FINE, 5, timers);
        assertThat(timers.processingTime).as("the next flush is a leading edge again").last().isEqualTo(5L);
    }

    @Test
    void theStateEntryRoundTripsAndOlderLayoutsAreExtended() throws Exception {
        EventClock clock = fresh();
        clock.observe(T, UNSET, 0, timers);
        clock.deadline(T + 60_000);
        clock.scheduleFlush(Cadence.FINE, 7, timers);
        clock.write(stored);
        long[] beforeTheCoarseCadence = Arrays.copyOf(stored.value(), 7);
        EventClock again = EventClock.read(stored, SETTINGS, () -> 0L);
        assertThat(again.time()).isEqualTo(T - OUT_OF_ORDERNESS_MS);
        assertThat(again.deadline()).isEqualTo(T + 60_000);
        assertThat(again.takeFlush(Cadence.FINE, 7, 7)).isTrue();

        // written before the coarse cadence (7 slots): its one pending flush covered every window size
        stored.update(beforeTheCoarseCadence);
        long heldDayEnd = T + 86_400_000L;
        EventClock older = EventClock.read(stored, SETTINGS, () -> heldDayEnd);
        assertThat(older.takeFlush(Cadence.COARSE, 7, 7)).isTrue();
        assertThat(older.userDaysFrom()).as("written before per-user days: the days held are incomplete").isEqualTo(heldDayEnd);
        assertThat(older.judge(S)).as("no pending stamps").isEqualTo(T - OUT_OF_ORDERNESS_MS);
    }

    /** A TimerService that only records: the harness tests drive the real one. */
    private static final class Timers implements TimerService {
        long watermark = Long.MIN_VALUE;
        final List<Long> processingTime = new ArrayList<>();
        final List<Long> eventTime = new ArrayList<>();
        final List<Long> deletedProcessingTime = new ArrayList<>();
        final List<Long> deletedEventTime = new ArrayList<>();

        @Override
        public long currentProcessingTime() {
            throw new UnsupportedOperationException("the clock is told the time");
        }

        @Override
        public long currentWatermark() {
            return watermark;
        }

        @Override
        public void registerProcessingTimeTimer(long time) {
            processingTime.add(time);
        }

        @Override
        public void registerEventTimeTimer(long time) {
            eventTime.add(time);
        }

        @Override
        public void deleteProcessingTimeTimer(long time) {
            processingTime.remove(time);
            deletedProcessingTime.add(time);
        }

        @Override
        public void deleteEventTimeTimer(long time) {
            eventTime.remove(time);
            deletedEventTime.add(time);
        }
    }

    private static final class Stored implements ValueState<long[]> {
        private long[] value;

        @Override
        public long[] value() {
            return value;
        }

        @Override
        public void update(long[] value) {
            this.value = value;
        }

        @Override
        public void clear() {
            value = null;
        }
    }
}
