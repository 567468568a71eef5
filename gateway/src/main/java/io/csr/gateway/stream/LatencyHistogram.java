package io.csr.gateway.stream;

import java.util.concurrent.atomic.LongAdder;

/** A fixed-bucket, striped (LongAdder) histogram of milliseconds, rendered in Prometheus text format (cumulative buckets, seconds). */
public final class LatencyHistogram {
    static final long[] BOUNDS_MS = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000};
    private final LongAdder[] counts = new LongAdder[BOUNDS_MS.length + 1];
    private final LongAdder sumMs = new LongAdder();
    private final LongAdder total = new LongAdder();

    public LatencyHistogram() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    public void observe(long ms) {
        long v = Math.max(0, ms);
        int i = 0;
        while (i < BOUNDS_MS.length && v > BOUNDS_MS[i]) {
            i++;
        }
        counts[i].increment();
        sumMs.add(v);
        total.increment();
    }

    public long count() {
        return total.sum();
    }

    /** Upper bound (ms) of the bucket holding quantile q, or -1 when empty; coarse, for /stream/stats. */
    public long quantileUpperBoundMs(double q) {
        long n = total.sum();
        if (n == 0) {
            return -1;
        }
        long rank = (long) Math.ceil(q * n);
        long seen = 0;
        for (int i = 0; i < BOUNDS_MS.length; i++) {
            seen += counts[i].sum();
            if (seen >= rank) {
                return BOUNDS_MS[i];
            }
        }
        return Long.MAX_VALUE;
    }

    void render(StringBuilder out, String name, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i < BOUNDS_MS.length; i++) {
            cumulative += counts[i].sum();
            out.append(name).append("_bucket{le=\"").append(BOUNDS_MS[i] / 1000.0).append("\"} ").append(cumulative).append('\n');
        }
        cumulative += counts[BOUNDS_MS.length].sum();
        out.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
        out.append(name).append("_sum ").append(sumMs.sum() / 1000.0).append('\n');
        out.append(name).append("_count ").append(cumulative).append('\n');
    }
}
