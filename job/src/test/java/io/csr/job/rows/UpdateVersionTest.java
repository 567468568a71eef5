package io.csr.job.rows;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UpdateVersionTest {
    private static final long TICK = UpdateVersion.TICK_MS;

    @Test
    void theMajorOrdersFirstThenTheTag() {
        assertThat(UpdateVersion.of(5, UpdateVersion.RECOMPUTED)).isLessThan(UpdateVersion.of(6, 0));
        assertThat(UpdateVersion.of(6, 0)).isLessThan(UpdateVersion.of(6, 1));
        assertThat(UpdateVersion.major(UpdateVersion.of(6, 77))).isEqualTo(6);
        assertThat(UpdateVersion.tag(UpdateVersion.of(6, 77))).isEqualTo(77);
    }

    @Test
    void aLaterFiringAtTheSameMajorHasAnotherHigherVersion() {
        long died = UpdateVersion.next(0, 40, 1_765_000_000_000L);              // the run that died
        long restored = UpdateVersion.next(0, 40, 1_765_000_000_000L + 2_000);   // its successor, a restart delay later
        assertThat(restored).isGreaterThan(died);
        assertThat(UpdateVersion.major(restored)).isEqualTo(UpdateVersion.major(died));
    }

    @Test
    void firingsNeverReachTheRecomputationsTag() {
        for (long t : new long[] {0, TICK, (UpdateVersion.RECOMPUTED - 1) * TICK, UpdateVersion.RECOMPUTED * TICK, -TICK, Long.MAX_VALUE}) {
            assertThat(UpdateVersion.firingTag(t)).as("tag at %s", t).isBetween(0L, UpdateVersion.RECOMPUTED - 1);
        }
        assertThat(UpdateVersion.recomputed(9)).isGreaterThan(UpdateVersion.next(0, 9, (UpdateVersion.RECOMPUTED - 1) * TICK));
    }

    @Test
    void versionsStayExactInJavaScriptNumbersUpTo4BillionEventsPerWindow() {
        long major = 2 * 4_294_967_295L + 1;
        assertThat(UpdateVersion.recomputed(major)).isLessThan(1L << 53);
    }

    @Test
    void theSqlFormIsTheSameNumber() {
        assertThat(UpdateVersion.recomputedSql("2 * count + 1")).isEqualTo("((2 * count + 1) * 1048576 + 1048575)");
        assertThat((2 * 4 + 1) * 1048576L + 1048575).isEqualTo(UpdateVersion.recomputed(9));
    }

    @Test
    void aTagOutsideItsBitsIsRefused() {
        assertThatThrownBy(() -> UpdateVersion.of(1, UpdateVersion.RECOMPUTED + 1)).hasMessageContaining("tag");
    }
}
