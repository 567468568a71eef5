package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.TestMetrics;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.api.common.typeutils.base.array.LongPrimitiveArraySerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A key restored from a savepoint written before per-user days existed: its day window holds the day's earlier
 * events, its user days nothing. Those user days must not be written from state (they would count only the events
 * after the restore); the day asks for a recomputation instead (reason user-days-upgrade), and a day that starts
 * after the restore is written from state as usual.
 */
class WindowAggregatorUserDaysUpgradeTest {
    private static final long UPDATE_INTERVAL_MS = 250;
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();
    private static final long NEXT_DAY = Instant.parse("2026-11-28T00:00:10Z").toEpochMilli();

    @Test
    void aDayHeldBeforePerUserDaysExistedIsRecomputedNotWrittenFromState() throws Exception {
        OperatorSubtaskState current;
        try (TestMetrics metrics = new TestMetrics(); var h = aggregator(metrics)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(new StreamRecord<>(event("e1", "u1", T, 2)));
            h.processElement(new StreamRecord<>(event("e2", "u1", T + 1_000, 4)));
            current = h.snapshot(1, 1);
        }
        // what an older savepoint held: 14 bookkeeping slots, no user days
        OperatorSubtaskState older;
        try (TestMetrics metrics = new TestMetrics();
             var h = AggregatorTesting.harness(new Downgrade(), metrics)) {
            h.initializeState(current);
            h.open();
            h.processElement(new StreamRecord<>(event("x", "u1", T, 0)));
            older = h.snapshot(2, 2);
        }

        try (TestMetrics metrics = new TestMetrics(); var h = aggregator(metrics)) {
            h.initializeState(older);
            h.open();
            h.setProcessingTime(10_000);
            h.processElement(new StreamRecord<>(event("e3", "u1", T + 2_000, 6)));
            h.processElement(new StreamRecord<>(event("e4", "u2", NEXT_DAY, 8)));
            h.setProcessingTime(10_000 + UPDATE_INTERVAL_MS);

            var side = h.getSideOutput(WindowAggregator.USER_DAYS);
            List<UserDayFiring> userDays = side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
            assertThat(userDays).as("only the day that began after the restore is written from state")
                    .singleElement().satisfies(f -> {
                        assertThat(f.userId).isEqualTo("u2");
                        assertThat(f.count).isEqualTo(1);
                    });
            List<TableRow> requests = h.getSideOutput(WindowAggregator.RECOMPUTES).stream().map(StreamRecord::getValue).toList();
            assertThat(requests).extracting(r -> r.json).anyMatch(j -> j.contains("\"reason\":\"" + RecomputeRequests.USER_DAYS + "\"")
                    && j.contains("\"window_size\":\"1d\"") && j.contains("\"from_ts\":\"2026-11-27 00:00:00\""));
            WindowFiring day = h.extractOutputValues().stream().filter(f -> f.window.equals("1d") && f.windowStartMs < NEXT_DAY - 10_000)
                    .reduce((a, b) -> b).orElseThrow();
            assertThat(day.count).as("the day window itself kept its events across the restore").isEqualTo(3);
        }
    }

    /** Truncates the bookkeeping to the 14 slots of the previous version and drops the user days. */
    static final class Downgrade extends KeyedProcessFunction<String, CsrEvent, WindowFiring> {
        private transient ValueState<long[]> time;
        private transient MapState<String, byte[]> userDays;

        @Override
        public void open(OpenContext openContext) {
            time = getRuntimeContext().getState(new ValueStateDescriptor<>("event-time", LongPrimitiveArraySerializer.INSTANCE));
            userDays = getRuntimeContext().getMapState(new MapStateDescriptor<>("user-days", StringSerializer.INSTANCE,
                    BytePrimitiveArraySerializer.INSTANCE));
        }

        @Override
        public void processElement(CsrEvent value, Context ctx, Collector<WindowFiring> out) throws Exception {
            time.update(Arrays.copyOf(time.value(), 14));
            userDays.clear();
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> aggregator(TestMetrics metrics) throws Exception {
        return AggregatorTesting.harness(new WindowAggregator(UPDATE_INTERVAL_MS, 10 * 60_000L, 5_000, 60_000), metrics);
    }

    private static CsrEvent event(String id, String user, long occurredAtMs, double value) {
        return AggregatorTesting.metric(id, "acme", "sroi", user, occurredAtMs, value);
    }
}
