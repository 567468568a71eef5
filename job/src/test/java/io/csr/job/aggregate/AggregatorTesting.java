package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.pipeline.TestMetrics;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/** What the window operator's tests share: the operator under Flink's keyed test harness, and the events it gets. */
final class AggregatorTesting {
    /** The settings most window tests run with: one 250 ms cadence, 10 min lateness, 5 s out-of-orderness, 60 s idle. */
    static final long UPDATE_INTERVAL_MS = 250;
    static final long LATENESS_MS = 10 * 60_000L;
    static final long OUT_OF_ORDERNESS_MS = 5_000;
    static final long IDLE_MS = 60_000;

    private AggregatorTesting() {
    }

    /** The window operator with the settings above. */
    static WindowAggregator aggregator() {
        return new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS);
    }

    /** {@link #harness} opened, at processing time 0. */
    static KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> opened(
            KeyedProcessFunction<String, CsrEvent, WindowFiring> function, TestMetrics metrics) throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness = harness(function, metrics);
        harness.open();
        harness.setProcessingTime(0);
        return harness;
    }

    /** {@code function} (the window operator, or a stand-in writing its state) keyed as in the job, not opened yet. */
    static KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness(
            KeyedProcessFunction<String, CsrEvent, WindowFiring> function, TestMetrics metrics) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(function), WindowAggregator::key,
                Types.STRING, metrics.environment());
    }

    /** A valid numeric event ({@code user} empty: none). */
    static CsrEvent metric(String id, String company, String metric, String user, long occurredAtMs, double value) {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.METRIC;
        e.eventId = id;
        e.companyId = company;
        e.name = metric;
        e.userId = user;
        e.occurredAtMs = occurredAtMs;
        e.value = value;
        return e;
    }
}
