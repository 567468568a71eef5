package io.csr.job.aggregate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
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

import static io.csr.job.aggregate.AggregatorTesting.UPDATE_INTERVAL_MS;
import static io.csr.job.aggregate.AggregatorTesting.LATENESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.OUT_OF_ORDERNESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.IDLE_MS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 27: a window a backfill recomputed holds, in this operator's state, only its live events. Once the backfill's
 * notice has arrived, such a window is never written from state: its firings become recomputation requests, and the
 * notice's whole span is recomputed once more after the commit. Windows outside every span keep firing from state.
 */
class WindowAggregatorBackfilledTest extends WindowOperatorTest {
    private static final String COMPANY = "acme";
    private static final String METRIC = "sroi";
    /** History of the company: 10:00 .. 12:59:59 of the day; live events replay 12:40 .. 13:00. */
    private static final long DAY = Instant.parse("2026-12-05T00:00:00Z").toEpochMilli();
    private static final long H10 = DAY + 10 * 3_600_000L;
    private static final long H12 = DAY + 12 * 3_600_000L;
    private static final long H13 = DAY + 13 * 3_600_000L;

    private int nextId;

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> newHarness(
            KeyedProcessFunction<String, CsrEvent, WindowFiring> function) throws Exception {
        return AggregatorTesting.harness(function, metrics);
    }

    private CsrEvent event(long occurredAtMs, double value) {
        return AggregatorTesting.metric("e" + (++nextId), COMPANY, METRIC, "", occurredAtMs, value);
    }

    private static CsrEvent notice(long fromMs, long toMs, boolean publish) {
        return CsrEvent.backfilled("backfilled-1", COMPANY, METRIC, fromMs, toMs, publish);
    }

    private void send(CsrEvent e) throws Exception {
        harness.processElement(new StreamRecord<>(e));
    }

    /** Firings emitted since the last call. */
    private List<WindowFiring> drain() {
        List<WindowFiring> out = harness.extractOutputValues();
        harness.getOutput().clear();
        return out;
    }

    private List<JsonNode> recomputeRows() throws Exception {
        var side = harness.getSideOutput(WindowAggregator.RECOMPUTES);
        List<JsonNode> out = new java.util.ArrayList<>();
        for (StreamRecord<TableRow> r : side == null ? List.<StreamRecord<TableRow>>of() : side) {
            assertThat(r.getValue().table).isEqualTo(RecomputeRequests.TABLE);
            out.add(Json.mapper().readTree(r.getValue().json));
        }
        side.clear();
        return out;
    }

    @Test
    void aWindowHeldOpenFiresFromStateUntilTheNoticeAndAsARecomputationAfterIt() throws Exception {
        for (int i = 0; i < 5; i++) {
            send(event(H12 + 40 * 60_000L + i * 1_000L, 1));     // the replayed backlog: 12:40
        }
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(drain()).as("before any notice: from state").isNotEmpty().noneMatch(f -> f.recompute);

        send(notice(H10, H13, false));                           // history 10:00 .. 13:00 was backfilled
        List<JsonNode> spans = recomputeRows();
        assertThat(spans).as("the span, once per window size, aligned to it").hasSize(3)
                .allMatch(r -> r.get("reason").asText().equals(RecomputeRequests.NOTICE))
                .allMatch(r -> r.get("publish").asInt() == 0 && r.get("final").asInt() == 1);
        assertThat(spans).extracting(r -> r.get("window_size").asText() + " " + r.get("from_ts").asText() + " " + r.get("to_ts").asText())
                .containsExactly("1m 2026-12-05 10:00:00 2026-12-05 13:00:00", "1h 2026-12-05 10:00:00 2026-12-05 13:00:00",
                        "1d 2026-12-05 00:00:00 2026-12-06 00:00:00");
        harness.setProcessingTime(2 * UPDATE_INTERVAL_MS);
        List<WindowFiring> again = drain();
        assertThat(again).as("the windows held here fire again, as recomputations, for dashboards")
                .extracting(f -> f.window).containsExactlyInAnyOrder("1m", "1h", "1d");
        assertThat(again).allMatch(f -> f.recompute);
        assertThat(again.get(0).toTableRow().table).isEqualTo(RecomputeRequests.TABLE);

        send(event(H12 + 59 * 60_000L, 7));                      // the straggler: 12:59, not late for this key
        harness.setProcessingTime(3 * UPDATE_INTERVAL_MS);
        List<WindowFiring> straggler = drain();
        assertThat(straggler).as("a later event of a backfilled window: never written from state").isNotEmpty()
                .allMatch(f -> f.recompute);
        JsonNode request = Json.mapper().readTree(straggler.get(0).toTableRow().json);
        assertThat(request.get("reason").asText()).isEqualTo(RecomputeRequests.FIRING);
        assertThat(request.get("publish").asInt()).as("its recomputed figures go to dashboards").isEqualTo(1);

        send(event(H13 + 30_000L, 2));                           // 13:00: outside the span
        harness.setProcessingTime(4 * UPDATE_INTERVAL_MS);
        List<WindowFiring> after = drain();
        assertThat(after).filteredOn(f -> f.windowStartMs >= H13).as("13:00 minute and hour: outside the span, from state")
                .extracting(f -> f.window).containsExactlyInAnyOrder("1m", "1h");
        assertThat(after).filteredOn(f -> f.windowStartMs >= H13).noneMatch(f -> f.recompute);
        assertThat(after).filteredOn(f -> f.windowStartMs < H13 && !f.window.equals("1d"))
                .as("12:59 and 12:00 close as the clock passes 13:00: final, still recomputations")
                .isNotEmpty().allMatch(f -> f.recompute && f.isFinal);
        assertThat(after).filteredOn(f -> f.window.equals("1d")).as("the day meets the span").allMatch(f -> f.recompute);
    }

    @Test
    void aNoticeBeforeAnyLiveEventCoversWindowsNotOpenedYet() throws Exception {
        send(notice(DAY, H13, true));                            // a company onboarded today: backfill of today first
        assertThat(recomputeRows()).hasSize(3).allMatch(r -> r.get("publish").asInt() == 1);
        assertThat(harness.numProcessingTimeTimers()).as("nothing held, nothing to flush").isZero();
        send(event(H12 + 1_000L, 3));
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(drain()).isNotEmpty().allMatch(f -> f.recompute);
    }

    @Test
    void aRestoreFromBeforeTheNoticeFiresFromStateUntilTheNoticeIsReadAgain() throws Exception {
        send(event(H12 + 1_000L, 1));
        OperatorSubtaskState beforeNotice = harness.snapshot(1, 1);
        send(notice(H10, H13, false));
        harness.close();

        harness = newHarness(new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS));
        harness.initializeState(beforeNotice);
        harness.open();
        harness.setProcessingTime(1_000);
        send(event(H12 + 2_000L, 1));                            // replayed: the notice comes after it in the stream
        harness.setProcessingTime(1_000 + UPDATE_INTERVAL_MS);
        assertThat(drain()).as("this state lineage has not read the notice yet").isNotEmpty().noneMatch(f -> f.recompute);
        send(notice(H10, H13, false));                           // replayed
        harness.setProcessingTime(1_000 + 2 * UPDATE_INTERVAL_MS);
        assertThat(drain()).isNotEmpty().allMatch(f -> f.recompute);
    }

    /** The state the window operator kept before issue 27: windows and clock, no backfilled spans. */
    static final class WindowStateBeforeSpans extends KeyedProcessFunction<String, CsrEvent, WindowFiring> {
        @Override
        public void open(OpenContext openContext) {
        }

        @Override
        public void processElement(CsrEvent e, Context ctx, Collector<WindowFiring> out) throws Exception {
            for (WindowSize size : WindowSize.values()) {
                MapState<Long, WindowAccumulator> windows = getRuntimeContext().getMapState(new MapStateDescriptor<>(
                        "windows-" + size.label(), LongSerializer.INSTANCE, WindowAccumulatorSerializer.INSTANCE));
                WindowAccumulator acc = new WindowAccumulator();
                acc.add(e.value);
                windows.put(size.startOf(e.occurredAtMs), acc);
            }
            ValueState<long[]> time = getRuntimeContext().getState(new ValueStateDescriptor<>("event-time",
                    LongPrimitiveArraySerializer.INSTANCE));
            long[] t = new long[14];
            Arrays.fill(t, Long.MIN_VALUE);
            t[0] = e.occurredAtMs - OUT_OF_ORDERNESS_MS;          // clock
            t[1] = e.occurredAtMs;                                // highest occurredAt
            t[3] = WindowSize.MINUTE.maxTimestamp(WindowSize.MINUTE.startOf(e.occurredAtMs)); // next deadline
            time.update(t);
        }
    }

    @Test
    void stateWrittenBeforeTheSpansExistedRestoresAndLearnsThem() throws Exception {
        harness.close();
        harness = newHarness(new WindowStateBeforeSpans());
        harness.open();
        send(event(H12 + 1_000L, 4));
        OperatorSubtaskState old = harness.snapshot(1, 1);
        harness.close();

        harness = newHarness(new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS));
        harness.initializeState(old);
        harness.open();
        harness.setProcessingTime(1_000);
        send(event(H12 + 2_000L, 6));
        harness.setProcessingTime(1_000 + UPDATE_INTERVAL_MS);
        WindowFiring minute = drain().stream().filter(f -> f.window.equals("1m")).findFirst().orElseThrow();
        assertThat(minute.count).as("the old window state, and the new event").isEqualTo(2);
        assertThat(minute.sum).isEqualTo(10.0);
        assertThat(minute.recompute).isFalse();
        send(notice(H10, H13, false));
        harness.setProcessingTime(1_000 + 2 * UPDATE_INTERVAL_MS);
        assertThat(drain()).isNotEmpty().allMatch(f -> f.recompute);
    }

    @Test
    void aSpanIsDroppedOnceEveryWindowMeetingItIsCleanedUp() throws Exception {
        WindowAggregator function = new WindowAggregator(UPDATE_INTERVAL_MS, LATENESS_MS, OUT_OF_ORDERNESS_MS, IDLE_MS);
        harness.close();
        harness = newHarness(function);
        harness.open();
        send(event(H12, 1));
        send(notice(H10, H13, false));
        send(notice(DAY + 30 * 3_600_000L, DAY + 31 * 3_600_000L, false));   // tomorrow 06:00 .. 07:00
        assertThat(function.spansOfCurrentKey()).containsExactly(H10, H13, DAY + 30 * 3_600_000L, DAY + 31 * 3_600_000L);
        send(event(DAY + 86_400_000L + 2_000L + OUT_OF_ORDERNESS_MS, 1)); // the clock just past the day's end: not yet
        assertThat(function.spansOfCurrentKey()).as("the day window is still within its lateness").hasSize(4);
        send(event(DAY + 86_400_000L + LATENESS_MS + OUT_OF_ORDERNESS_MS + 1_000L, 1)); // past the day's end + lateness
        assertThat(function.spansOfCurrentKey()).as("the day is cleaned up: its span goes, tomorrow's stays")
                .containsExactly(DAY + 30 * 3_600_000L, DAY + 31 * 3_600_000L);
        send(notice(H10, H13, false));                                   // a span the clock is past: not kept
        assertThat(function.spansOfCurrentKey()).containsExactly(DAY + 30 * 3_600_000L, DAY + 31 * 3_600_000L);
        assertThat(recomputeRows()).as("but still recomputed once more").hasSize(9);
    }

    @Test
    void spansMergeAndAWindowMeetsOneWhenTheyOverlap() {
        long[] spans = WindowAggregator.addSpan(null, 100, 200);
        spans = WindowAggregator.addSpan(spans, 300, 400);
        assertThat(spans).containsExactly(100, 200, 300, 400);
        spans = WindowAggregator.addSpan(spans, 150, 300);
        assertThat(spans).as("touching spans merge").containsExactly(100, 400);
        spans = WindowAggregator.addSpan(spans, 0, 50);
        assertThat(spans).containsExactly(0, 50, 100, 400);
        assertThat(WindowAggregator.meetsSpan(spans, 50, 100)).as("[50, 100) lies between them").isFalse();
        assertThat(WindowAggregator.meetsSpan(spans, 40, 60)).isTrue();
        assertThat(WindowAggregator.meetsSpan(spans, 399, 460)).isTrue();
        assertThat(WindowAggregator.meetsSpan(spans, 400, 460)).isFalse();
        assertThat(WindowAggregator.meetsSpan(null, 0, 1)).isFalse();
    }
}
