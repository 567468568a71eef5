package io.csr.perf.e2e;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class WindowDeliveriesTest {
    private static final long MINUTE = 1_764_450_000_000L - Math.floorMod(1_764_450_000_000L, 60_000L);

    @Test
    void aFrameDeliversEveryMeasuredEventUpToItsCountOnceAndNoWarmUpEvent() {
        WindowDeliveries d = new WindowDeliveries();
        d.published("acme", "m", MINUTE + 1_000, 10, false); // warm-up: counts towards the window, not reported
        d.published("acme", "m", MINUTE + 2_000, 20, true);
        d.published("acme", "m", MINUTE + 3_000, 30, true);

        assertThat(d.frame("acme", "m", MINUTE, 2)).extracting(WindowDeliveries.Published::nanos).containsExactly(20L);
        assertThat(d.frame("acme", "m", MINUTE, 2)).as("a repeated frame delivers nothing").isEmpty();
        assertThat(d.frame("acme", "m", MINUTE, 1)).as("an older frame delivers nothing").isEmpty();
        assertThat(d.frame("acme", "m", MINUTE, 9)).as("a count beyond what was published is clamped")
                .extracting(WindowDeliveries.Published::wallMs).containsExactly(MINUTE + 3_000);
    }

    @Test
    void windowsAreSeparatedByCompanyMetricAndMinute() {
        WindowDeliveries d = new WindowDeliveries();
        d.published("acme", "m", MINUTE + 59_999, 1, true);
        d.published("acme", "m", MINUTE + 60_000, 2, true); // next minute

        assertThat(d.frame("acme", "m", MINUTE + 60_000, 1)).extracting(WindowDeliveries.Published::nanos).containsExactly(2L);
        assertThat(d.frame("globex", "m", MINUTE, 1)).isEmpty();
        assertThat(d.frame("acme", "other", MINUTE, 1)).isEmpty();
        assertThat(d.frame("acme", "m", MINUTE, 1)).extracting(WindowDeliveries.Published::nanos).containsExactly(1L);
    }
}
