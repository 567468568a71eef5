package io.csr.job.cohort;

import org.junit.jupiter.api.Test;

import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

class ReplicationWatermarkTest {
    static final long SECOND = 1_000_000L;
    static final long NOW = 1_800_000_000L * SECOND;
    static final long LAG = SECOND;

    @Test
    void withNothingOpenTheWatermarkTrailsTheServerClockBySafetyLag() {
        assertThat(ReplicationWatermark.advance(NOW - 60 * SECOND, OptionalLong.empty(), NOW, LAG)).isEqualTo(NOW - LAG);
    }

    @Test
    void anOpenTransactionHoldsTheWatermarkAtItsStartSoItsLateCommitIsStillRead() {
        long started = NOW - 30 * SECOND;       // its rows carry updated_at >= started, whenever it commits
        long next = ReplicationWatermark.advance(NOW - 60 * SECOND, OptionalLong.of(started), NOW, LAG);
        assertThat(next).isEqualTo(started);
        assertThat(started).as("a row it writes is >= the next watermark").isGreaterThanOrEqualTo(next);
    }

    @Test
    void anOpenTransactionYoungerThanTheSafetyLagDoesNotMoveTheBound() {
        assertThat(ReplicationWatermark.advance(0, OptionalLong.of(NOW - LAG / 2), NOW, LAG)).isEqualTo(NOW - LAG);
    }

    @Test
    void theWatermarkNeverMovesBackwards() {
        long current = NOW - 5 * SECOND;
        assertThat(ReplicationWatermark.advance(current, OptionalLong.of(NOW - 600 * SECOND), NOW, LAG)).isEqualTo(current);
        assertThat(ReplicationWatermark.advance(current, OptionalLong.empty(), NOW - 3_600 * SECOND, LAG))
                .as("server clock stepped back an hour").isEqualTo(current);
    }

    @Test
    void rowsSharingTheWatermarkTimestampAreReadAgainBecauseTheBoundIsInclusive() {
        // Two rows committed with the same updated_at = the watermark: the next read is updated_at >= watermark.
        long tie = NOW - 2 * SECOND;
        long next = ReplicationWatermark.advance(0, OptionalLong.of(tie), NOW, LAG);
        assertThat(next).isEqualTo(tie);
        assertThat(tie >= next).isTrue();
    }
}
