package io.csr.job.aggregate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.pipeline.TestMetrics;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class WindowAggregatorTest {
    private static final long UPDATE_INTERVAL_MS = 250;
    private static final long LATENESS_MS = 10 * 60_000L;
    private static final String COMPANY = "acme";
    private static final String METRIC = "sroi";
    /** Inside the minute 10:15, the hour 10:00 and the day 2026-11-27. */
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();
    private static final long MINUTE_START = Instant.parse("2026-11-27T10:15:00Z").toEpochMilli();
    private static final long MINUTE_END = MINUTE_START + 60_000L;
    private static final long DAY_END = Instant.parse("2026-11-28T00:00:00Z").toEpochMilli();

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness;
    private TestMetrics metrics;
    private int nextId;

    @BeforeEach
    void setUp() throws Exception {
        metrics = new TestMetrics();
        harness = newHarness();
        harness.open();
        harness.setProcessingTime(0);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
        metrics.close();
    }

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> newHarness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS)),
                WindowAggregator::key, Types.STRING, metrics.environment());
    }

    private CsrEvent event(long occurredAtMs, double value) {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.METRIC;
        e.eventId = "e" + (++nextId);
        e.companyId = COMPANY;
        e.name = METRIC;
        e.userId = "";
        e.occurredAtMs = occurredAtMs;
        e.value = value;
        return e;
    }

    private void send(long occurredAtMs, double value) throws Exception {
        harness.processElement(event(occurredAtMs, value), occurredAtMs);
    }

    /** Firings emitted since the last call. */
    private List<WindowFiring> drain() {
        List<WindowFiring> out = harness.extractOutputValues();
        harness.getOutput().clear();
        return out;
    }

    private static WindowFiring only(List<WindowFiring> firings, WindowSize size) {
        return firings.stream().filter(f -> f.window.equals(size.label())).findFirst().orElseThrow(
                () -> new AssertionError("no " + size.label() + " firing in " + firings));
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
        assertThat(minute.version).isEqualTo(4); // 2 * count
        assertThat(minute.isFinal).isFalse();
        assertThat(minute.windowStartMs).isEqualTo(MINUTE_START);
        assertThat(minute.windowEndMs).isEqualTo(MINUTE_END);

        harness.setProcessingTime(100);
        send(T + 2, 5);
        assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
        harness.setProcessingTime(UPDATE_INTERVAL_MS - 1);
        assertThat(drain()).as("no firing sooner than UPDATE_INTERVAL_MS after the previous one").isEmpty();
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        WindowFiring second = only(drain(), WindowSize.MINUTE);
        assertThat(second.count).isEqualTo(3);
        assertThat(second.version).isEqualTo(6);

        harness.setProcessingTime(10_000);
        assertThat(drain()).as("nothing changed, nothing fires").isEmpty();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void watermarkPastTheEndFiresFinalOnceWithHigherVersion() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        drain();

        harness.processWatermark(MINUTE_END - 2);
        assertThat(drain()).isEmpty();
        harness.processWatermark(MINUTE_END - 1);
        List<WindowFiring> firings = drain();
        assertThat(firings).singleElement().satisfies(f -> {
            assertThat(f.window).isEqualTo("1m");
            assertThat(f.isFinal).isTrue();
            assertThat(f.version).as("final at the same count: one above the early firing").isEqualTo(3);
            assertThat(f.count).isEqualTo(1);
        });
        harness.processWatermark(MINUTE_END + 1000);
        assertThat(drain()).as("final fires once").isEmpty();
    }

    @Test
    void lateDataWithinLatenessFiresAgainWithHigherVersion() throws Exception {
        send(T, 2);
        harness.processWatermark(MINUTE_END + 60_000);
        assertThat(only(drain(), WindowSize.MINUTE).version).isEqualTo(3);

        send(T + 5, 4);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        List<WindowFiring> firings = drain();
        WindowFiring minute = only(firings, WindowSize.MINUTE);
        assertThat(minute.version).isEqualTo(5);
        assertThat(minute.isFinal).isTrue();
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.sum).isEqualTo(6.0);
        WindowFiring hour = only(firings, WindowSize.HOUR);
        assertThat(hour.isFinal).isFalse();
        assertThat(hour.count).isEqualTo(2);
        assertThat(harness.getSideOutput(WindowAggregator.LATE_EVENTS)).isNullOrEmpty();
    }

    @Test
    void windowFirstSeenAfterItsEndFiresFinalExactlyOnce() throws Exception {
        harness.processWatermark(MINUTE_END + 60_000); // the minute closed before any of its data arrived
        send(T, 7);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        WindowFiring minute = only(drain(), WindowSize.MINUTE);
        assertThat(minute.isFinal).isTrue();
        assertThat(minute.version).isEqualTo(3);

        harness.processWatermark(MINUTE_END + 120_000); // fires the (past) end-of-window timer: nothing new to say
        assertThat(drain()).isEmpty();
    }

    @Test
    void dataLaterThanLatenessGoesToLateEventsAndStillCountsInOpenWindows() throws Exception {
        send(T, 2);
        harness.processWatermark(MINUTE_END - 1 + LATENESS_MS);
        drain();

        CsrEvent late = event(T + 7, 9);
        harness.processElement(late, late.occurredAtMs);

        List<TableRow> lateRows = harness.getSideOutput(WindowAggregator.LATE_EVENTS).stream()
                .map(StreamRecord::getValue).toList();
        assertThat(lateRows).singleElement().satisfies(row -> {
            assertThat(row.table).isEqualTo("late_events");
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
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(drain()).extracting(f -> f.window + ":" + f.count).containsExactly("1h:2", "1d:2");
        assertThat(metrics.count("eventsLate")).isEqualTo(1);
        assertThat(metrics.count("windowFirings")).isEqualTo(3);
    }

    @Test
    void stateAndTimersAreGoneAfterEndPlusLateness() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        assertThat(harness.numKeyedStateEntries()).isPositive();
        assertThat(harness.numEventTimeTimers()).isEqualTo(6); // end and cleanup of 1m, 1h, 1d

        harness.processWatermark(MINUTE_END - 1 + LATENESS_MS);
        assertThat(harness.numEventTimeTimers()).isEqualTo(4);
        harness.processWatermark(DAY_END - 1 + LATENESS_MS);

        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numEventTimeTimers()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void dirtyWindowIsFlushedBeforeCleanupEvenWithoutAProcessingTimer() throws Exception {
        send(T, 2);
        harness.processWatermark(MINUTE_END + 1000);
        drain();
        send(T, 3); // late but within lateness; its processing-time flush never gets a chance
        harness.processWatermark(Long.MAX_VALUE);

        List<WindowFiring> firings = drain();
        WindowFiring minute = only(firings, WindowSize.MINUTE);
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.isFinal).isTrue();
        assertThat(minute.version).isEqualTo(5);
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    @Test
    void versionKeepsIncreasingAcrossARestore() throws Exception {
        send(T, 2);
        harness.setProcessingTime(0);
        assertThat(only(drain(), WindowSize.MINUTE).version).isEqualTo(2);
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = newHarness();
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(5_000);
        send(T + 1, 4);
        harness.setProcessingTime(5_000 + UPDATE_INTERVAL_MS);
        WindowFiring minute = only(drain(), WindowSize.MINUTE);
        assertThat(minute.version).isEqualTo(4);
        assertThat(minute.count).isEqualTo(2);
        assertThat(minute.sum).isEqualTo(6.0);
    }

    @Test
    void versionIsTwiceTheCountPlusFinalButNeverGoesBackwards() {
        assertThat(WindowAggregator.nextVersion(0, 3, false)).isEqualTo(6);
        assertThat(WindowAggregator.nextVersion(6, 3, true)).isEqualTo(7);
        assertThat(WindowAggregator.nextVersion(7, 4, true)).isEqualTo(9);
        // e.g. state written by a job version that numbered firings differently
        assertThat(WindowAggregator.nextVersion(100, 4, false)).isEqualTo(101);
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
        harness.processWatermark(MINUTE_END - 1);
        WindowFiring f = only(drain(), WindowSize.MINUTE);

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
        harness.processWatermark(MINUTE_END - 1);
        WindowFiring f = only(drain(), WindowSize.MINUTE);
        f.updatedAtMs = T + 61_000;

        TableRow row = f.toTableRow();
        assertThat(row.table).isEqualTo("metric_windows");
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
        assertThat(data.get("version").asLong()).isEqualTo(3);
        assertThat(data.get("p50").asDouble()).isCloseTo(2.0, within(0.02));
        assertThat(update.json).doesNotContain("\n");
    }
}
