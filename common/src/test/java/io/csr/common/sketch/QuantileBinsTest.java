package io.csr.common.sketch;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class QuantileBinsTest {

    @Test
    void keysAreOrderedLikeValuesAndEveryBinStandsWithinTheRelativeAccuracy() {
        Random r = new Random(7);
        double[] values = new double[20_000];
        for (int i = 0; i < values.length; i++) {
            double magnitude = Math.pow(10, r.nextInt(40) - 20) * r.nextDouble();
            values[i] = r.nextInt(5) == 0 ? -magnitude : magnitude;
        }
        values[0] = 0;
        values[1] = Double.MIN_VALUE;
        values[2] = -Double.MAX_VALUE;
        Arrays.sort(values);
        for (int i = 0; i < values.length; i++) {
            int key = QuantileBins.key(values[i]);
            if (i > 0) {
                assertThat(key).isGreaterThanOrEqualTo(QuantileBins.key(values[i - 1]));
            }
            double rep = QuantileBins.value(key);
            assertThat(Math.abs(rep - values[i])).as("%s in bin %d stands as %s", values[i], key, rep)
                    .isLessThanOrEqualTo(Math.abs(values[i]) * (QuantileBins.RELATIVE_ACCURACY + 1e-9));
        }
    }

    @Test
    void mergedBinsGiveTheElementQuantilesExactPicksWithinHalfAPercent() {
        Random r = new Random(11);
        double[] values = new double[10_001];
        TreeMap<Integer, Long> bins = new TreeMap<>();
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.exp(r.nextGaussian() * 2) * 100;
            bins.merge(QuantileBins.key(values[i]), 1L, Long::sum);
        }
        long[] keys = bins.keySet().stream().mapToLong(Integer::longValue).toArray();
        long[] counts = bins.values().stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(values);
        double[] q = QuantileBins.quantiles(keys, counts, values[0], values[values.length - 1], 0.5, 0.75, 0.95);
        double[] levels = {0.5, 0.75, 0.95};
        for (int j = 0; j < 3; j++) {
            double exact = values[(int) Math.floor(levels[j] * values.length)]; // quantilesExact's element
            assertThat(Math.abs(q[j] - exact) / exact).isLessThanOrEqualTo(QuantileBins.RELATIVE_ACCURACY + 1e-9);
        }
        // 1, 3, 5, 7, 9, 11: p50 is the upper median (7), as quantilesExact gives it; clamped to [min, max]
        TreeMap<Integer, Long> six = new TreeMap<>();
        for (double v : new double[] {1, 3, 5, 7, 9, 11}) {
            six.merge(QuantileBins.key(v), 1L, Long::sum);
        }
        double[] s = QuantileBins.quantiles(six.keySet().stream().mapToLong(Integer::longValue).toArray(),
                six.values().stream().mapToLong(Long::longValue).toArray(), 1, 11, 0.5, 0.75, 0.95);
        assertThat(s[0]).isCloseTo(7, org.assertj.core.api.Assertions.within(7 * 0.005));
        assertThat(s[1]).isCloseTo(9, org.assertj.core.api.Assertions.within(9 * 0.005));
        assertThat(s[2]).as("the last rank is the maximum, exactly").isEqualTo(11);
        assertThat(QuantileBins.quantiles(new long[] {QuantileBins.key(11)}, new long[] {3}, 11, 11.01, 0.5)[0])
                .as("clamped to [min, max]").isEqualTo(11);
        assertThat(QuantileBins.quantiles(new long[0], new long[0], 0, 0, 0.5)).isNull();
    }

    @Test
    void theMigrationThatFillsTheTableUsesTheSameMapping() throws Exception {
        Path sql = Path.of("..", "sql", "clickhouse", "007_user_daily_metrics.sql");
        String text = Files.readString(sql);
        assertThat(text).contains(String.format(Locale.ROOT, "%.17g", QuantileBins.LN_GAMMA))
                .contains(Integer.toString(QuantileBins.BIAS));
        assertThat(QuantileBins.sqlKey("value")).contains(String.format(Locale.ROOT, "%.17g", QuantileBins.LN_GAMMA));
    }
}
