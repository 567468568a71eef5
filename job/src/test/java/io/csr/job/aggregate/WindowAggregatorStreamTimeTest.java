package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static io.csr.job.aggregate.AggregatorTesting.LATENESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.OUT_OF_ORDERNESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.IDLE_MS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The key's clock in stream time: records carry their JetStream timestamp ("stamp") and watermarks say every record
 * stamped up to them has arrived (BoundedJetStreamReader). An event moves its key's clock only once the watermark has
 * passed its stamp, and silence is measured as watermark − the key's last stamp.
 */
class WindowAggregatorStreamTimeTest extends WindowOperatorTest {
    /** Occurred inside the minute 10:00 (a backlog three hours old when it is published). */
    private static final long O = Instant.parse("2026-11-27T10:00:30Z").toEpochMilli();
    private static final long MINUTE_START = Instant.parse("2026-11-27T10:00:00Z").toEpochMilli();
    /** Published (JetStream timestamp) three hours later. */
    private static final long P = Instant.parse("2026-11-27T13:00:00Z").toEpochMilli();

    private int nextId;

    private CsrEvent event(String company, long occurredAtMs) {
        return AggregatorTesting.metric("e" + (++nextId), company, "vis", "", occurredAtMs, 1);
    }

    private void stamped(String company, long occurredAtMs, long stamp) throws Exception {
        harness.processElement(event(company, occurredAtMs), stamp);
    }

    private void unstamped(String company, long occurredAtMs) throws Exception {
        harness.processElement(new StreamRecord<>(event(company, occurredAtMs)));
    }

    private List<String> lateCompanies() {
        var side = harness.getSideOutput(WindowAggregator.LATE_EVENTS);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).map(r -> r.json)
                .map(j -> j.replaceAll(".*\"company_id\":\"([^\"]+)\".*", "$1")).distinct().toList();
    }

    private List<WindowFiring> finalMinuteFirings(String company, long start) {
        return harness.extractOutputValues().stream()
                .filter(f -> f.companyId.equals(company) && f.window.equals("1m") && f.windowStartMs == start && f.isFinal)
                .toList();
    }

    @Test
    void anEventOvertakenThroughAnotherChannelIsNotLate() throws Exception {
        // published in this order (stamps P+1, P+2), but the second reached the window operator first: it came
        // through another dedup subtask whose buffers were emptier
        stamped("b", O + 30 * 60_000L, P + 2);
        stamped("b", O, P + 1);
        // the same arrival order with the clock moved on arrival (records without stream time): late
        unstamped("legacy", O + 30 * 60_000L);
        unstamped("legacy", O);
        assertThat(lateCompanies()).containsExactly("legacy");

        // the watermark passes both stamps: every event published before them has arrived, the clock moves on
        harness.processWatermark(new Watermark(P + 2 * EventClock.SETTLE_GRANULARITY_MS));
        List<WindowFiring> fired = finalMinuteFirings("b", MINUTE_START);
        assertThat(fired).as("b's 10:00 minute closes by its clock, with the overtaken event in it").hasSize(1);
        assertThat(fired.get(0).count).isEqualTo(1);
        assertThat(lateCompanies()).containsExactly("legacy");
    }

    @Test
    void anArrivingEventIsJudgedByWhatWasPublishedBeforeItAlthoughTheWatermarkHasNotPassedThatYet() throws Exception {
        // a restore: the first watermark is still on its way, so these stay pending
        stamped("c", P - 30_000, P);
        stamped("c", P - 31 * 60_000L, P + 1_000);       // published after the live one, 31 minutes older than it
        stamped("b", P - 30_000, P + 1_000);
        stamped("b", P - 31 * 60_000L, P);               // published before the live one, arrived after it: not late
        assertThat(lateCompanies()).containsExactly("c");
    }

    @Test
    void aKeyHoldsAtMostTwoSettleTimersHoweverManyEventsAreInFlight() throws Exception {
        for (int i = 0; i < 1_000; i++) {
            stamped("b", O + i * 1_000L, P + i * 7L);
        }
        // two pending slots + the end-of-input timer
        assertThat(harness.numEventTimeTimers()).isLessThanOrEqualTo(3);
        assertThat(finalMinuteFirings("b", MINUTE_START)).as("nothing settled yet").isEmpty();
        harness.processWatermark(new Watermark(P + 7_000));
        assertThat(finalMinuteFirings("b", MINUTE_START)).hasSize(1);
        assertThat(lateCompanies()).isEmpty();
    }

    @Test
    void downtimeIsNoSilenceButStreamTimeWithoutTheKeyIs() throws Exception {
        stamped("b", O, P);
        harness.processWatermark(new Watermark(P));
        // the job is down for an hour, comes back (restored idle timers fire at once) before any watermark is through:
        // processing time says an hour of silence, stream time says none
        harness.setProcessingTime(3_600_000L);
        harness.setProcessingTime(3_600_000L + IDLE_MS);
        assertThat(finalMinuteFirings("b", MINUTE_START)).as("clock not run on by the downtime").isEmpty();
        // what was published during the downtime arrives: not late for b's clock
        stamped("b", O + 5 * 60_000L, P + 5 * 60_000L);
        assertThat(lateCompanies()).isEmpty();

        // the stream goes on for longer than the idle bound without b: b's clock runs on by the silence beyond it
        harness.processWatermark(new Watermark(P + 5 * 60_000L + IDLE_MS + 2 * 60_000L));
        harness.setProcessingTime(3_600_000L + 3 * IDLE_MS);
        assertThat(finalMinuteFirings("b", MINUTE_START + 5 * 60_000L)).as("b's 10:05 minute closes once b is silent in stream time")
                .hasSize(1);
    }

    @Test
    void anEventTheWatermarkAlreadyPassedMovesTheClockOnArrival() throws Exception {
        harness.processWatermark(new Watermark(P + 1_000));
        stamped("b", O, P + 10);
        stamped("b", O + 2 * 60_000L, P + 20);
        assertThat(finalMinuteFirings("b", MINUTE_START)).hasSize(1);
        assertThat(harness.numEventTimeTimers()).as("the end-of-input timer only").isEqualTo(1);
    }

    @Test
    void theFinalWatermarkSettlesEverythingButDoesNotRunTheClockOn() throws Exception {
        stamped("b", O, P);
        harness.processWatermark(new Watermark(Long.MAX_VALUE));
        assertThat(finalMinuteFirings("b", MINUTE_START)).as("end of input: every window final").hasSize(1);
        harness.setProcessingTime(10 * IDLE_MS);
        // more input after all (a drained stop, then resumed): judged by the key's own clock, not late
        stamped("b", O + 60_000L, P + 1);
        assertThat(lateCompanies()).isEmpty();
    }
}
