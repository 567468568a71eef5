package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.TestMetrics;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Watermarks are not checkpointed: after a restore Flink's watermark starts from nothing. A window that was finalised
 * and cleaned up before the checkpoint must stay closed after the restore — an old event then is too late (a
 * late_events row), it must not re-create the window with a fresh, lower version that contradicts the committed row.
 * (Found by ExactlyOnceITCase: far-too-late events arriving right after a restart re-opened cleaned-up windows.)
 */
class WindowAggregatorRestoreTest {
    private static final long UPDATE_INTERVAL_MS = 250;
    private static final long LATENESS_MS = 10 * 60_000L;
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();
    private static final long DAY_END = Instant.parse("2026-11-28T00:00:00Z").toEpochMilli();

    @Test
    void aWindowCleanedUpBeforeTheCheckpointStaysClosedAfterTheRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (TestMetrics metrics = new TestMetrics();
             KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> before = harness(metrics)) {
            before.open();
            before.setProcessingTime(0);
            before.processElement(new StreamRecord<>(event("e1", T, 2)));
            // the key's clock passes the day's end + lateness: every window of T final and cleaned up
            before.processElement(new StreamRecord<>(event("e0", DAY_END + LATENESS_MS + 10_000, 1)));
            before.setProcessingTime(UPDATE_INTERVAL_MS);
            assertThat(before.extractOutputValues()).anyMatch(f -> f.windowStartMs <= T && f.window.equals("1d") && f.isFinal);
            snapshot = before.snapshot(1, 1);
        }

        try (TestMetrics metrics = new TestMetrics();
             KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> after = harness(metrics)) {
            after.initializeState(snapshot);
            after.open();
            after.setProcessingTime(10_000);                              // the key's clock comes back with its state
            after.processElement(new StreamRecord<>(event("e2", T + 1, 5)));
            after.setProcessingTime(10_000 + UPDATE_INTERVAL_MS);

            assertThat(after.extractOutputValues()).as("no window of T re-opened").noneMatch(f -> f.windowStartMs <= T);
            List<TableRow> late = after.getSideOutput(WindowAggregator.LATE_EVENTS).stream().map(StreamRecord::getValue).toList();
            assertThat(late).extracting(r -> r.json).allMatch(j -> j.contains("\"e2\"")).hasSize(3);
            assertThat(metrics.count("eventsLate")).isEqualTo(1);
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness(TestMetrics metrics) throws Exception {
        return AggregatorTesting.harness(new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, 5_000, 60_000), metrics);
    }

    private static CsrEvent event(String id, long occurredAtMs, double value) {
        return AggregatorTesting.metric(id, "acme", "sroi", "", occurredAtMs, value);
    }
}
