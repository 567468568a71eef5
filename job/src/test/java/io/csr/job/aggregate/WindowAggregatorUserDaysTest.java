package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

import static io.csr.job.aggregate.AggregatorTesting.UPDATE_INTERVAL_MS;
import static io.csr.job.aggregate.AggregatorTesting.LATENESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.OUT_OF_ORDERNESS_MS;
import static io.csr.job.aggregate.AggregatorTesting.IDLE_MS;
import static org.assertj.core.api.Assertions.assertThat;

/** Per-user days in the window operator (issue 25): counted with the day window, fired when changed, gone with it. */
class WindowAggregatorUserDaysTest extends WindowOperatorTest {
    private static final long DAY = Instant.parse("2026-11-27T00:00:00Z").toEpochMilli();
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();

    private int nextId;

    private void send(String user, long at, double value) throws Exception {
        harness.processElement(new StreamRecord<>(AggregatorTesting.metric("e" + (++nextId), "acme", "sroi", user, at, value)));
    }

    private List<UserDayFiring> userDays() {
        ConcurrentLinkedQueue<StreamRecord<UserDayFiring>> side = harness.getSideOutput(WindowAggregator.USER_DAYS);
        List<UserDayFiring> out = side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
        if (side != null) {
            side.clear();
        }
        return out;
    }

    private List<TableRow> recomputes() {
        var side = harness.getSideOutput(WindowAggregator.RECOMPUTES);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void eachUsersDayFiresItsExactFiguresOnceChangedAndVersionTwiceItsCount() throws Exception {
        send("u1", T, 2);
        send("u1", T + 1_000, 4);
        send("u2", T + 2_000, 10);
        send("", T + 3_000, 99); // no user: counted in the windows, no user day
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        List<UserDayFiring> fired = userDays();
        assertThat(fired).extracting(f -> f.userId).containsExactlyInAnyOrder("u1", "u2");
        UserDayFiring u1 = fired.stream().filter(f -> f.userId.equals("u1")).findFirst().orElseThrow();
        assertThat(u1.dayStartMs).isEqualTo(DAY);
        assertThat(u1.count).isEqualTo(2);
        assertThat(u1.sum).isEqualTo(6);
        assertThat(u1.min).isEqualTo(2);
        assertThat(u1.max).isEqualTo(4);
        assertThat(u1.sumSq).isEqualTo(20);
        assertThat(u1.version).isEqualTo(4);
        assertThat(u1.qCounts).containsExactly(1, 1);
        assertThat(u1.toTableRow().json).contains("\"day\":\"2026-11-27\"", "\"q_counts\":[1,1]");

        // nothing changed: nothing fires; one more event of u2 fires u2 alone
        harness.setProcessingTime(2 * UPDATE_INTERVAL_MS);
        assertThat(userDays()).isEmpty();
        send("u2", T + 4_000, 20);
        harness.setProcessingTime(3 * UPDATE_INTERVAL_MS);
        assertThat(userDays()).singleElement().satisfies(f -> {
            assertThat(f.userId).isEqualTo("u2");
            assertThat(f.count).isEqualTo(2);
            assertThat(f.version).isEqualTo(4);
        });
    }

    @Test
    void theUserDaysOfADayGoWithItsWindowAndAChangedOneFiresFirst() throws Exception {
        send("u1", T, 1);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(userDays()).hasSize(1);
        assertThat(harness.numKeyedStateEntries()).isPositive();
        send("u1", T + 1, 2);
        // the next day's events move the clock past the day's end + lateness: the day window and its user days go
        send("u9", DAY + 86_400_000L + LATENESS_MS + OUT_OF_ORDERNESS_MS + 60_000L, 5);
        List<UserDayFiring> fired = userDays();
        assertThat(fired).filteredOn(f -> f.dayStartMs == DAY).singleElement()
                .satisfies(f -> assertThat(f.count).as("fired on cleanup with the pending change").isEqualTo(2));
        // the old day's user day is gone: a correction (late event) is the only way it changes now
        send("u1", T + 2, 3);
        harness.setProcessingTime(10 * UPDATE_INTERVAL_MS);
        assertThat(userDays()).noneMatch(f -> f.dayStartMs == DAY);
    }

    @Test
    void aBackfilledDaysUserDaysAreNotWrittenFromStateButRecomputed() throws Exception {
        CsrEvent notice = CsrEvent.backfilled("n1", "acme", "sroi", DAY, DAY + 86_400_000L, false);
        harness.processElement(new StreamRecord<>(notice));
        send("u1", T, 1);
        harness.setProcessingTime(UPDATE_INTERVAL_MS);
        assertThat(userDays()).isEmpty();
        List<WindowFiring> day = harness.extractOutputValues().stream().filter(f -> f.window.equals("1d")).toList();
        assertThat(day).isNotEmpty().allMatch(f -> f.recompute);
        assertThat(recomputes()).anyMatch(r -> r.json.contains("\"window_size\":\"1d\""));
    }
}
