package io.csr.perf.replay;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class FailoverVerdictTest {
    private static final long KILL = 10_000_000_000L;
    private static final List<String> PUBLISHED = List.of("1-0", "2-0", "3-0", "4-0");

    /** A stream that received {@code ids} at 1 ms apart from {@code firstAt}, connected at {@code connects}. */
    private static FailoverVerdict.Stream stream(List<String> ids, long firstAt, List<Long> connects, long gaps, long repeats) {
        long[] at = new long[ids.size()];
        for (int i = 0; i < at.length; i++) {
            at[i] = firstAt + i * 1_000_000L;
        }
        return new FailoverVerdict.Stream("c", ids, at, connects, gaps, repeats, 0, 0);
    }

    private static Map<String, Object> verdict(FailoverVerdict.Stream... streams) {
        return FailoverVerdict.of(List.of(streams), Map.of("c", PUBLISHED), Map.of("c", 2), KILL);
    }

    @Test
    void aCutStreamThatResumedWithEveryIdIsCompleteAndItsResumeRunsFromTheKill() {
        // received 1-0, 2-0 before the kill; connected again 3 s after it, then 3-0 and 4-0 replayed and live
        long reconnect = KILL + 3_000_000_000L;
        FailoverVerdict.Stream cut = new FailoverVerdict.Stream("c", PUBLISHED,
                new long[] {KILL - 2_000_000, KILL - 1_000_000, reconnect + 5_000_000, reconnect + 6_000_000}, List.of(1L, reconnect), 0, 0, 0, 0);
        FailoverVerdict.Stream stayed = stream(PUBLISHED, KILL - 2_000_000, List.of(1L), 0, 0);

        Map<String, Object> row = verdict(cut, stayed);

        assertThat(row.get("complete")).isEqualTo(true);
        assertThat(row.get("movedStreams")).isEqualTo(1);
        assertThat(row.get("allResumedMs")).as("everything published before the kill was in hand when it reconnected").isEqualTo(3_000.0);
    }

    @Test
    void aStreamThatLostAnIdOrGotOneTwiceFailsAndSaysWhere() {
        long reconnect = KILL + 1_000_000_000L;
        FailoverVerdict.Stream gap = stream(List.of("1-0", "2-0", "4-0"), reconnect, List.of(1L, reconnect), 1, 0);
        FailoverVerdict.Stream twice = stream(List.of("1-0", "2-0", "2-0", "3-0", "4-0"), reconnect, List.of(1L, reconnect), 0, 1);

        Map<String, Object> row = verdict(gap, twice);

        assertThat(row.get("complete")).isEqualTo(false);
        assertThat((Map<String, Object>) row.get("lost")).containsEntry("streamsNotExact", 2).containsEntry("streamsWithGaps", 1)
                .containsEntry("streamsWithRepeats", 1);
        assertThat((List<String>) row.get("examples")).first().asString().contains("first difference at #2 (expected 3-0, got 4-0)");
    }

    @Test
    void aCutStreamThatNeverGotBackItsMissedEventsIsNotResumed() {
        long reconnect = KILL + 1_000_000_000L;
        FailoverVerdict.Stream behind = stream(List.of("1-0"), KILL - 5_000_000, List.of(1L, reconnect), 0, 0);

        Map<String, Object> row = verdict(behind);

        assertThat((Map<String, Object>) row.get("lost")).containsEntry("movedStreamsNotResumed", 1);
        assertThat(row.get("allResumedMs")).isNull();
    }

    @Test
    void aKillThatCutNoStreamTestedNothing() {
        Map<String, Object> row = verdict(stream(PUBLISHED, KILL - 5_000_000, List.of(1L), 0, 0));

        assertThat(row.get("complete")).isEqualTo(false);
        assertThat((Map<String, Object>) row.get("lost")).containsEntry("noStreamMoved", 1);
    }
}
