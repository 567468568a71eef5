package io.csr.job.aggregate;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.mapping.LogarithmicMapping;
import com.datadoghq.sketch.ddsketch.store.CollapsingLowestDenseStore;
import com.datadoghq.sketch.ddsketch.store.Store;

import java.util.function.Supplier;

/**
 * Running aggregate of one window: exact count/sum/min/max, Welford mean and M2 for the population stddev, and a
 * DDSketch for p50/p75/p95 (relative accuracy 0.5%, so within the 1% Contract 2 allows; mergeable). Also the firing
 * bookkeeping: the last emitted {@code version}, whether something changed since then, and whether the final
 * (the key's event-time clock passed the end) firing happened. Serialized in state by {@link WindowAccumulatorSerializer}.
 */
public final class WindowAccumulator {
    /** Relative accuracy of the quantile sketch: 0.5% keeps p50/p75/p95 well inside the 1% bound. */
    public static final double RELATIVE_ACCURACY = 0.005;
    /**
     * Bins per sign. With gamma ≈ 1.01 this spans about nine orders of magnitude at full accuracy; beyond that the
     * lowest bins collapse (only tiny values lose accuracy) instead of memory growing without bound.
     */
    public static final int MAX_BINS = 2048;
    static final Supplier<Store> STORE = () -> new CollapsingLowestDenseStore(MAX_BINS);

    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double mean;
    double m2;
    DDSketch sketch;
    long version;
    boolean dirty;
    boolean finalFired;

    public WindowAccumulator() {
        this.sketch = newSketch();
    }

    static DDSketch newSketch() {
        return new DDSketch(new LogarithmicMapping(RELATIVE_ACCURACY), STORE);
    }

    public void add(double value) {
        count++;
        sum += value;
        min = Math.min(min, value);
        max = Math.max(max, value);
        double delta = value - mean;
        mean += delta / count;
        m2 += delta * (value - mean);
        sketch.accept(value);
        dirty = true;
    }

    public long count() {
        return count;
    }

    public double sum() {
        return sum;
    }

    public double min() {
        return min;
    }

    public double max() {
        return max;
    }

    public double avg() {
        return count == 0 ? 0.0 : sum / count;
    }

    /** Population standard deviation. */
    public double stddev() {
        return count == 0 ? 0.0 : Math.sqrt(Math.max(0.0, m2 / count));
    }

    /** Values at the given quantiles (each in [0, 1]); zeros when empty. */
    public double[] quantiles(double... q) {
        return count == 0 ? new double[q.length] : sketch.getValuesAtQuantiles(q);
    }

    public long version() {
        return version;
    }

    public boolean dirty() {
        return dirty;
    }

    public boolean finalFired() {
        return finalFired;
    }

    public WindowAccumulator copy() {
        WindowAccumulator c = new WindowAccumulator();
        c.count = count;
        c.sum = sum;
        c.min = min;
        c.max = max;
        c.mean = mean;
        c.m2 = m2;
        c.sketch = sketch.copy();
        c.version = version;
        c.dirty = dirty;
        c.finalFired = finalFired;
        return c;
    }
}
