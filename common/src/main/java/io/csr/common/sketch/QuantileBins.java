package io.csr.common.sketch;

import java.util.Locale;

/**
 * A mergeable quantile summary with a relative-error guarantee: every value goes to a logarithmic bin of width
 * γ = (1 + α) / (1 − α), α = {@value #RELATIVE_ACCURACY} (the mapping of the windows' DDSketch), and a summary is a
 * sorted list of (bin key, count). Two summaries merge by adding the counts of equal keys, which ClickHouse does
 * itself ({@code sumMap(q_keys, q_counts)}), so the merge of any number of per-user daily rows is exact as a histogram
 * and only the final read of a quantile is approximate: the value returned lies in the same bin as the exact one, so
 * it is within α of it (0.5 %, inside the 1 % of Contract 2), and it is clamped to [min, max]; the first and the
 * last rank are the exact min and max.
 *
 * <p>Bin keys are ordered like the values they stand for: 0 holds exactly 0; a positive value v has key
 * {@code ceil(ln v / ln γ) + BIAS} (positive), a negative one minus that of |v|. With BIAS = 2²⁰ every finite double
 * (subnormals included: |ln v| < 745, so |index| < 75,000) has a key, so nothing collapses. The same key is computed
 * in Java by the job ({@link #key}) and in SQL by a recomputation from {@code metrics_timeseries} ({@link #sqlKey});
 * a value that lands on a bin boundary may get the neighbouring key on one side, which is then still within α.
 *
 * <p>The rank read is the one {@code quantilesExact} uses for the raw figures: for n values the element at 0-based
 * position ⌊q·n⌋ of the sorted values (capped at n − 1), so an answer from these bins and one from the raw values
 * pick the same element and differ only by the bin width.
 */
public final class QuantileBins {
    public static final double RELATIVE_ACCURACY = 0.005;
    static final double GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
    static final double LN_GAMMA = Math.log(GAMMA);
    static final int BIAS = 1 << 20;

    private QuantileBins() {
    }

    /** The bin key of {@code value} (finite). */
    public static int key(double value) {
        if (value == 0) {
            return 0;
        }
        int index = (int) Math.ceil(Math.log(Math.abs(value)) / LN_GAMMA) + BIAS;
        return value > 0 ? index : -index;
    }

    /** The value a bin stands for: γ^i·2/(1+γ), within α of every value of the bin. */
    public static double value(int key) {
        if (key == 0) {
            return 0;
        }
        int index = Math.abs(key) - BIAS;
        double v = Math.min(Double.MAX_VALUE, Math.exp(index * LN_GAMMA + Math.log(2 / (1 + GAMMA)))); // no overflow at the top
        return key > 0 ? v : -v;
    }

    /** {@link #key} as a ClickHouse expression (Int32) over a Float64 column; the same in 18.16 and 24.x. */
    public static String sqlKey(String column) {
        String index = "(toInt32(ceil(log(abs(" + column + ")) / " + String.format(Locale.ROOT, "%.17g", LN_GAMMA) + ")) + " + BIAS + ")";
        return "toInt32(if(" + column + " = 0, 0, if(" + column + " > 0, " + index + ", -" + index + ")))";
    }

    /**
     * The values at quantiles {@code q} of the merged summary ({@code keys} ascending, {@code counts} alongside, as
     * {@code sumMap} returns them), read at 0-based rank ⌊q·n⌋ and clamped to [min, max]; null when empty.
     */
    public static double[] quantiles(long[] keys, long[] counts, double min, double max, double... q) {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        if (n == 0) {
            return null;
        }
        double[] out = new double[q.length];
        for (int j = 0; j < q.length; j++) {
            long rank = Math.min(n - 1, (long) Math.floor(q[j] * n));
            if (rank == n - 1 || rank == 0) { // the maximum or the minimum: known exactly
                out[j] = rank == 0 ? min : max;
                continue;
            }
            long seen = 0;
            int i = 0;
            while (i < keys.length - 1 && seen + counts[i] <= rank) {
                seen += counts[i];
                i++;
            }
            out[j] = Math.max(min, Math.min(max, value((int) keys[i])));
        }
        return out;
    }
}
