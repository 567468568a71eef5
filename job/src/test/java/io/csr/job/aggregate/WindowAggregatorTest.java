package io.csr.job.aggregate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.rows.UpdateVersion;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static io.csr.job.aggregate.AggregatorTesting.UPDATE_INTERVAL_MS;
import static io.csr.job.aggregate.AggregatorTesting.LATENESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.OUT_OF_ORDERNESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.IDLE_MS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class WindowAggregatorTest extends WindowOperatorTest {
    private static final String COMPANY = "acme";
    private static final String METRIC = "sroi";
    /** Inside the minute 10:15, the hour 10:00 and the day 2026-11-27. */
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();
    private static final long MINUTE_START = Instant.parse("2026-11-27T10:15:00Z").toEpochMilli();
    private static final long MINUTE_END = MINUTE_START + 60_000L;
    private static final long DAY_END = Instant.parse("2026-11-28T00:00:00Z").toEpochMilli();

    private int nextId;
    /** Processing time of the last event sent, and the highest occurredAt sent (the key's clock inputs). */
    private long lastSentAt;
    private long maxOccurred = Long.MIN_VALUE;

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> newHarness() throws Exception {
        return AggregatorTesting.harness(new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS), metrics);
    }

    private CsrEvent event(String company, long occurredAtMs, double value) {
        return AggregatorTesting.metric("e" + (++nextId), company, METRIC, "", occurredAtMs, value);
    }

    private void send(long occurredAtMs, double value) throws Exception {
        send(COMPANY, occurredAtMs, value);
    }

    private void send(String company, long occurredAtMs, double value) throws Exception {
        harness.processElement(new StreamRecord<>(event(company, occurredAtMs, value))); // no stream time: clock on arrival
        lastSentAt = harness.getProcessingTime();
        maxOccurred = Math.max(maxOccurred, occurredAtMs);
    }

    /**
     * Lets the (single) key go silent until its clock reaches {@code clock}: after IDLE_MS of silence the clock runs on
     * with processing time from highest occurredAt − out-of-orderness.
     */
    private void idleUntilClock(long clock) throws Exception {
        long start = maxOccurred - OUT_OF_ORDERNESS_MS;
        harness.setProcessingTime(Math.max(harness.getProcessingTime(), lastSentAt + IDLE_MS + Math.max(0, clock - start)));
    }

    /** Firings emitted since the last call. */
    private List<WindowFiring> drain() {
        List<WindowFiring> out = harness.extractOutputValues();
        harness.getOutput().clear();
        return out;
    }

    private List<TableRow> lateRows() {
        var side = harness.getSideOutput(WindowAggregator.LATE_EVENTS);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    private static WindowFiring only(List<WindowFiring> firings, WindowSize size) {
        return firings.stream().filter(f -> f.window.equals(size.label())).findFirst().orElseThrow(
                () -> new AssertionError("no " + size.label() + " firing in " + firings));
    }

    /** Replaces the harness by one whose minute window fires every 20 ms and hour and day windows every 250 ms. */
    private void useTwoCadences() throws Exception {
        harness.close();
        harness = AggregatorTesting.harness(new WindowAggregator(20, 250, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS), metrics);
        harness.open();
    }

    @Test
    void theMinuteWindowFiresOnItsOwnShortCadenceAndHourAndDayOnTheCoarseOne() throws Exception {
        useTwoCadences();
        harness.setProcessingTime(0);

        send(T, 1);
        harness.setProcessingTime(0);
        assertThat(drain()).as("leading edge: the first event fires every size at once").extracting(f -> f.window)
                .containsExactly("1m", "1h", "1d");
        harness.setProcessingTime(5);
        send(T + 1, 2);
        harness.setProcessingTime(19);
        assertThat(drain()).isEmpty();
        harness.setProcessingTime(20);
        List<WindowFiring> fine = drain();
        assertThat(fine).as("20 ms after the last minute firing: the minute window only").extracting(f -> f.window).containsExactly("1m");
        assertThat(only(fine, WindowSize.MINUTE).count).isEqualTo(2);
        harness.setProcessingTime(30);
        send(T + 2, 3);
        harness.setProcessingTime(40);
        assertThat(drain()).extracting(f -> f.count).containsExactly(3L);
        harness.setProcessingTime(249);
        assertThat(drain()).isEmpty();
        harness.setProcessingTime(250);
        List<WindowFiring> coarse = drain();
        assertThat(coarse).as("250 ms after their last firing: hour and day, with everything so far").extracting(f -> f.window)
                .containsExactly("1h", "1d");
        assertThat(coarse).extracting(f -> f.count).containsExactly(3L, 3L);
        harness.setProcessingTime(10_000);
        assertThat(drain()).as("nothing changed, nothing fires").isEmpty();
    }

    @Test
    void aBacklogEventLeavesItsMinuteWindowToTheCoarseCadence() throws Exception {
        useTwoCadences();
        long now = T + WindowAggregator.LIVE_LAG_MS + 1;   // the event is older than LIVE_LAG_MS: catching up
        harness.setProcessingTime(now);
        send(T, 1);
        harness.setProcessingTime(now);
        assertThat(drain()).as("leading edge of the coarse cadence: every size").extracting(f -> f.window)
                .containsExactly("1m", "1h", "1d");
        harness.setProcessingTime(now + 5);
        send(T + 1, 2);
        harness.setProcessingTime(now + 20);
        assertThat(drain()).as("no 20 ms firing for a backlog event").isEmpty();
        harness.setProcessingTime(now + 250);
        assertThat(drain()).as("the coarse flush fires the minute window too").extracting(f -> f.window)
                .containsExactly("1m", "1h", "1d");
    }

    @Test
    void earlyFiringsAreThrottledAndOnlyWhenSomethingChanged() throws Exception {
        send(T, 1);
        send(T + 1, 3);
        harness.setProcessingTime(0);
        List<WindowFiring> first = drain();
        assertThat(first).extracting(f -> f.window).containsExactly("1m", "1h", "1d");
        WindowFiring minute = only(first, WindowSize.MINUTE);
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.sum).isEqualTo(4.0);
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(4); // 2 * count
        assertThat(minute.isFinal).isFalse();
        assertThat(minute.windowStartMs).isEqualTo(MINUTE_START);
        assertThat(minute.windowEndMs).isEqualTo(MINUTE_END);

        harness.setProcessingTime(100);
        send(T + 2, 5);
        assertThat(harness.numProcessingTimeTimers()).as("one flush timer and one idle check").isEqualTo(2);
        harness.setProcessingTime(UPDATE_INTERVAL_MS - 1);
        assertThat(drain()).as("no firing sooner than UPDATE_INTERVAL_MS after the previous one").isEmpty();
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        WindowFiring second = only(drain(), WindowSize.MINUTE);
        assertThat(second.count).isEqualTo(3);
        assertThat(UpdateVersion.major(second.version)).isEqualTo(6);

        harness.setProcessingTime(10_000);
        assertThat(drain()).as("nothing changed, nothing fires").isEmpty();
        assertThat(harness.numProcessingTimeTimers()).as("only the idle check is left").isEqualTo(1);
    }

    @Test
    void theKeysOwnClockPassingTheEndFiresFinalOnceWithHigherVersion() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        drain();

        // an event of the same key 4.998 s after the minute's end: clock = MINUTE_END - 2, the minute is still open
        send(MINUTE_END - 2 + OUT_OF_ORDERNESS_MS, 1);
        assertThat(drain()).isEmpty();
        // one more millisecond of event time closes it
        send(MINUTE_END - 1 + OUT_OF_ORDERNESS_MS, 1);
        List<WindowFiring> firings = drain();
        assertThat(firings).singleElement().satisfies(f -> {
            assertThat(f.window).isEqualTo("1m");
            assertThat(f.windowStartMs).isEqualTo(MINUTE_START);
            assertThat(f.isFinal).isTrue();
            assertThat(UpdateVersion.major(f.version)).as("final at the same count: one above the early firing").isEqualTo(3);
            assertThat(f.count).isEqualTo(1);
        });
        send(MINUTE_END + 30_000, 1);
        assertThat(drain()).as("final fires once").isEmpty();
    }

    @Test
    void anotherCompanysLaterClockNeverMakesThisCompanysEventsLate() throws Exception {
        // globex is live three hours ahead; acme publishes a backlog three hours old, after it
        send("globex", T + 3 * 3_600_000L, 1);
        send("acme", T, 5);
        send("acme", T + 1_000, 7);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(lateRows()).as("nothing is late: each key has its own clock").isEmpty();
        List<WindowFiring> acme = drain().stream().filter(f -> f.companyId.equals("acme")).toList();
        assertThat(only(acme, WindowSize.MINUTE).count).isEqualTo(2);
        assertThat(only(acme, WindowSize.MINUTE).isFinal).isFalse();
        assertThat(metrics.count("eventsLate")).isZero();

        // acme's own clock moves on through its backlog and closes its minute
        send("acme", MINUTE_END + OUT_OF_ORDERNESS_MS, 1);
        WindowFiring closed = drain().stream().filter(f -> f.companyId.equals("acme") && f.window.equals("1m")
                && f.windowStartMs == MINUTE_START).findFirst().orElseThrow();
        assertThat(closed.isFinal).isTrue();
        assertThat(closed.count).isEqualTo(2);
    }

    @Test
    void aQuietKeysWindowsAreFinalisedByTheIdleBound() throws Exception {
        send(T, 2);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        drain();
        harness.setProcessingTime(lastSentAt + IDLE_MS - 1);
        assertThat(drain()).as("not idle yet").isEmpty();

        idleUntilClock(MINUTE_END - 1);
        WindowFiring minute = only(drain(), WindowSize.MINUTE);
        assertThat(minute.isFinal).isTrue();
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(3);

        idleUntilClock(DAY_END - 1);
        List<WindowFiring> rest = drain();
        assertThat(rest).extracting(f -> f.window + ":" + f.isFinal).containsExactly("1h:true", "1d:true");
    }

    @Test
    void lateDataWithinLatenessFiresAgainWithHigherVersion() throws Exception {
        send(T, 2);
        send(MINUTE_END + 65_000, 1); // clock = MINUTE_END + 60 s: the minute is final
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(UpdateVersion.major(drain().stream().filter(f -> f.window.equals("1m") && f.windowStartMs == MINUTE_START)
                .findFirst().orElseThrow().version)).isEqualTo(3);

        send(T + 5, 4);
        harness.setProcessingTime(2 * UPDATE_INTERVAL_MS);
        List<WindowFiring> firings = drain();
        WindowFiring minute = only(firings, WindowSize.MINUTE);
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(5);
        assertThat(minute.isFinal).isTrue();
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.sum).isEqualTo(6.0);
        WindowFiring hour = only(firings, WindowSize.HOUR);
        assertThat(hour.isFinal).isFalse();
        assertThat(hour.count).isEqualTo(3);
        assertThat(lateRows()).isEmpty();
    }

    @Test
    void windowFirstSeenAfterItsEndFiresFinalExactlyOnce() throws Exception {
        send(MINUTE_END + 65_000, 1); // the key's clock passed the minute before any of its data arrived
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        drain();
        send(T, 7);
        harness.setProcessingTime(2 * UPDATE_INTERVAL_MS);
        WindowFiring minute = only(drain(), WindowSize.MINUTE);
        assertThat(minute.windowStartMs).isEqualTo(MINUTE_START);
        assertThat(minute.isFinal).isTrue();
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(3);

        send(MINUTE_END + 125_000, 1); // the clock moves on: nothing new to say about that minute
        harness.setProcessingTime(3 * UPDATE_INTERVAL_MS);
        assertThat(drain()).noneMatch(f -> f.window.equals("1m") && f.windowStartMs == MINUTE_START);
    }

    @Test
    void dataLaterThanLatenessIsObservedRecordedAsLateAndStillCountsInOpenWindows() throws Exception {
        send(T, 2);
        send(MINUTE_END - 1 + LATENESS_MS + OUT_OF_ORDERNESS_MS, 1); // clock: the minute's lateness just ran out
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        drain();

        CsrEvent late = event(COMPANY, T + 7, 9);
        harness.processElement(new StreamRecord<>(late));

        assertThat(lateRows()).singleElement().satisfies(row -> {
            assertThat(row.table).isEqualTo("late_events");
            assertThat(row.partition).isEqualTo(202611);
            JsonNode json = Json.mapper().readTree(row.json);
            assertThat(json.get("company_id").asText()).isEqualTo(COMPANY);
            assertThat(json.get("metric").asText()).isEqualTo(METRIC);
            assertThat(json.get("event_id").asText()).isEqualTo(late.eventId);
            assertThat(json.get("occurred_at").asText()).isEqualTo("2026-11-27 10:15:30");
            assertThat(json.get("value").asDouble()).isEqualTo(9.0);
            assertThat(json.get("window_size").asText()).isEqualTo("1m");
            assertThat(json.has("received_at")).isTrue();
            assertThat(json.size()).isEqualTo(7);
        });
        assertThat(harness.getSideOutput(WindowAggregator.OBSERVATIONS)).extracting(r -> r.getValue().eventId)
                .as("every event becomes a metrics_timeseries row, the late one too (the correction reads it)")
                .contains(late.eventId).hasSize(3);
        harness.setProcessingTime(2 * UPDATE_INTERVAL_MS);
        assertThat(drain()).filteredOn(f -> f.windowStartMs <= T).extracting(f -> f.window + ":" + f.count)
                .containsExactly("1h:3", "1d:3");
        assertThat(metrics.count("eventsLate")).isEqualTo(1);
    }

    @Test
    void windowStateAndTimersAreGoneAfterEndPlusLateness() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        assertThat(harness.numKeyedStateEntries()).isPositive();
        assertThat(harness.numEventTimeTimers()).as("event time is the key's own clock; one timer for the end of a bounded input")
                .isEqualTo(1);

        idleUntilClock(DAY_END - 1 + LATENESS_MS);
        drain();
        assertThat(harness.numProcessingTimeTimers()).isZero();
        assertThat(harness.numEventTimeTimers()).isZero();
        // what stays per key is its clock (one entry), so a later event for a removed window is judged late
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
        send(T, 1);
        assertThat(lateRows()).hasSize(3);
    }

    @Test
    void dirtyWindowIsFlushedWhenTheClockPassesItsCleanup() throws Exception {
        send(T, 2);
        send(MINUTE_END + 1000 + OUT_OF_ORDERNESS_MS, 1);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        drain();
        send(T, 3); // late but within lateness; its flush has not run yet when the clock jumps past the cleanup
        send(DAY_END + LATENESS_MS + OUT_OF_ORDERNESS_MS, 1);

        List<WindowFiring> firings = drain();
        WindowFiring minute = firings.stream().filter(f -> f.window.equals("1m") && f.windowStartMs == MINUTE_START)
                .findFirst().orElseThrow();
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.isFinal).isTrue();
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(5);
    }

    @Test
    void clockAndVersionsSurviveARestore() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        assertThat(UpdateVersion.major(only(drain(), WindowSize.MINUTE).version)).isEqualTo(2);
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = newHarness();
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(5_000);
        send(T + 1, 4);
        harness.setProcessingTime(5_000 + UPDATE_INTERVAL_MS);
        WindowFiring minute = only(drain(), WindowSize.MINUTE);
        assertThat(UpdateVersion.major(minute.version)).isEqualTo(4);
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.sum).isEqualTo(6.0);
    }

    @Test
    void versionIsTwiceTheCountPlusFinalThenTheFiringsTimeButNeverGoesBackwards() {
        long tick = UpdateVersion.TICK_MS;
        assertThat(WindowAggregator.nextVersion(0, 3, false, 7 * tick)).isEqualTo(UpdateVersion.of(6, 7));
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(6, 7), 3, true, 7 * tick)).isEqualTo(UpdateVersion.of(7, 7));
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(7, 7), 4, true, 8 * tick)).isEqualTo(UpdateVersion.of(9, 8));
        // the same count again in a later tick (a backfill's notice re-fires a held window): a higher tag suffices
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(9, 8), 4, true, 9 * tick)).isEqualTo(UpdateVersion.of(9, 9));
        // the same count in the same tick, or after the tag wrapped: the next major
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(9, 9), 4, true, 9 * tick)).isEqualTo(UpdateVersion.of(10, 9));
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(9, 9), 4, true, (UpdateVersion.RECOMPUTED + 2) * tick))
                .isEqualTo(UpdateVersion.of(10, 2));
        // state written with the older numbering (2·count + final): every new version is above it
        assertThat(WindowAggregator.nextVersion(101, 4, false, 0)).isEqualTo(UpdateVersion.of(8, 0));
        assertThat(WindowAggregator.nextVersion(UpdateVersion.of(100, 5), 4, false, 0)).isEqualTo(UpdateVersion.of(101, 0));
    }

    @Test
    void statisticsAreExactAndPercentilesWithinOnePercent() throws Exception {
        Random random = new Random(20261127);
        int n = 10_000;
        double[] values = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            values[i] = Math.exp(random.nextGaussian() * 2) * (random.nextInt(10) == 0 ? -1 : 1);
            sum += values[i];
            send(T + (i % 1000), values[i]);
        }
        idleUntilClock(MINUTE_END - 1);
        WindowFiring f = drain().stream().filter(x -> x.window.equals("1m") && x.isFinal).findFirst().orElseThrow();

        double mean = sum / n;
        double squares = 0;
        for (double v : values) {
            squares += (v - mean) * (v - mean);
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        assertThat(f.count).isEqualTo(n);
        assertThat(f.sum).isEqualTo(sum);
        assertThat(f.min).isEqualTo(sorted[0]);
        assertThat(f.max).isEqualTo(sorted[n - 1]);
        assertThat(f.avg).isEqualTo(mean);
        assertThat(f.stddev).isCloseTo(Math.sqrt(squares / n), within(1e-9 * Math.sqrt(squares / n)));
        assertThat(f.p50).isCloseTo(exactQuantile(sorted, 0.50), within(Math.abs(exactQuantile(sorted, 0.50)) * 0.01));
        assertThat(f.p75).isCloseTo(exactQuantile(sorted, 0.75), within(Math.abs(exactQuantile(sorted, 0.75)) * 0.01));
        assertThat(f.p95).isCloseTo(exactQuantile(sorted, 0.95), within(Math.abs(exactQuantile(sorted, 0.95)) * 0.01));
    }

    /** The lower-rank quantile (element at floor(q·(n−1))), the definition DDSketch's guarantee refers to. */
    static double exactQuantile(double[] sorted, double q) {
        return sorted[(int) Math.floor(q * (sorted.length - 1))];
    }

    @Test
    void firingBecomesMetricWindowsRowAndContractUpdate() throws Exception {
        send(T, 2);
        idleUntilClock(MINUTE_END - 1);
        WindowFiring f = drain().stream().filter(x -> x.window.equals("1m") && x.isFinal).findFirst().orElseThrow();
        f.updatedAtMs = T + 61_000;

        TableRow row = f.toTableRow();
        assertThat(row.table).isEqualTo("metric_windows");
        assertThat(row.partition).isEqualTo(202611);
        JsonNode json = Json.mapper().readTree(row.json);
        List<String> names = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("company_id", "metric", "window_size", "window_start", "window_end", "count",
                "sum", "min", "max", "avg", "p50", "p75", "p95", "stddev", "version", "final", "updated_at");
        assertThat(json.get("window_start").asText()).isEqualTo("2026-11-27 10:15:00");
        assertThat(json.get("window_end").asText()).isEqualTo("2026-11-27 10:16:00");
        assertThat(json.get("updated_at").asText()).isEqualTo("2026-11-27 10:16:31");
        assertThat(json.get("final").asInt()).isEqualTo(1);

        var update = f.toRedisUpdate();
        assertThat(update.companyId).isEqualTo(COMPANY);
        assertThat(update.type).isEqualTo("sroi_updated");
        JsonNode data = Json.mapper().readTree(update.json);
        assertThat(data.get("windowStart").asText()).isEqualTo("2026-11-27T10:15:00Z");
        assertThat(data.get("window").asText()).isEqualTo("1m");
        assertThat(data.get("final").asBoolean()).isTrue();
        assertThat(data.get("version").asLong()).isEqualTo(f.version);
        assertThat(UpdateVersion.major(f.version)).isEqualTo(3);
        assertThat(data.get("p50").asDouble()).isCloseTo(2.0, within(0.02));
        assertThat(update.json).doesNotContain("\n");
    }
}
