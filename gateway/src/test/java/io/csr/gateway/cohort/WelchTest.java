package io.csr.gateway.cohort;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Welch's interval and the t quantile against values from tables and worked by hand (cross-checked with SciPy 1.17). */
class WelchTest {
    @Test
    void tQuantilesMatchTheTables() {
        double[][] table = {{1, 12.706204736174694}, {2, 4.302652729749462}, {2.5, 3.5746548420036817},
                {10, 2.228138851986274}, {30, 2.0422724563012378}, {1000, 1.9623390808264083}};
        for (double[] row : table) {
            assertThat(Welch.tQuantile(0.975, row[0])).as("t(0.975, %s)", row[0]).isCloseTo(row[1], within(1e-9));
        }
    }

    /**
     * a = 5, 7, 9, 4 (mean 6.25, s² = 14.75/3); b = 1, 3, 11, 5, 7, 9 (mean 6, s² = 14). se² = (14.75/3)/4 + 14/6 =
     * 3.5625; df = 3.5625² / ((14.75/12)²/3 + (14/6)²/5) = 7.969457; d = −0.25 ± 2.307543 · 1.887459.
     */
    @Test
    void theIntervalOfAWorkedExample() {
        double sdA = Math.sqrt(14.75 / 4);   // population stddev, as the cohort figures carry it
        double sdB = Math.sqrt(70.0 / 6);
        Welch.Interval w = Welch.of(4, 6.25, sdA, 6, 6.0, sdB);
        assertThat(w.difference()).isCloseTo(-0.25, within(1e-12));
        assertThat(w.df()).isCloseTo(7.969456910805456, within(1e-9));
        assertThat(w.low()).isCloseTo(-4.605392616915237, within(1e-9));
        assertThat(w.high()).isCloseTo(4.105392616915237, within(1e-9));
    }

    @Test
    void tooFewObservationsGiveTheDifferenceWithoutAnInterval() {
        assertThat(Welch.of(1, 2.0, 0.0, 5, 3.0, 1.0)).isEqualTo(new Welch.Interval(1.0, null, null, null));
        assertThat(Welch.of(0, null, null, 5, 3.0, 1.0)).isEqualTo(new Welch.Interval(null, null, null, null));
        assertThat(Welch.of(3, 2.0, 0.0, 3, 2.0, 0.0)).as("no spread: exact").isEqualTo(new Welch.Interval(0.0, 0.0, 0.0, null));
    }
}
