package io.csr.gateway.stream;

import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBucket;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;

/**
 * Delivery latency in milliseconds, kept by the Prometheus client's {@link Histogram} (classic buckets, exposed in
 * seconds). Its snapshot is consistent — buckets, {@code _sum} and {@code _count} come from the same observations even
 * while others are recorded, which reading separate striped counters one after another did not guarantee.
 */
public final class LatencyHistogram {
    static final long[] BOUNDS_MS = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000};
    private final Histogram histogram;

    public LatencyHistogram() {
        this("csr_stream_delivery_latency_seconds", "XADD (ms part of the Redis id) to write+flush on the SSE socket, live events.");
    }

    LatencyHistogram(String name, String help) {
        double[] bounds = new double[BOUNDS_MS.length];
        for (int i = 0; i < bounds.length; i++) {
            bounds[i] = BOUNDS_MS[i] / 1000.0;
        }
        // observed once per delivery: without exemplars (nothing here traces requests, so none was ever sampled) an
        // observation skips the exemplar sampler's clock read and rate limit
        this.histogram = Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(bounds).withoutExemplars().build();
    }

    public void observe(long ms) {
        histogram.observe(Math.max(0, ms) / 1000.0);
    }

    /** The Prometheus metric, for registering with a registry. */
    Histogram metric() {
        return histogram;
    }

    private HistogramSnapshot.HistogramDataPointSnapshot snapshot() {
        return histogram.collect().getDataPoints().get(0);
    }

    public long count() {
        return snapshot().getCount();
    }

    /** Upper bound (ms) of the bucket holding quantile q, or -1 when empty; coarse, for /stream/stats. */
    public long quantileUpperBoundMs(double q) {
        HistogramSnapshot.HistogramDataPointSnapshot s = snapshot();
        long n = s.getCount();
        if (n == 0) {
            return -1;
        }
        long rank = (long) Math.ceil(q * n);
        long seen = 0;
        for (ClassicHistogramBucket b : s.getClassicBuckets()) {
            seen += b.getCount();
            if (seen >= rank) {
                return Double.isInfinite(b.getUpperBound()) ? Long.MAX_VALUE : Math.round(b.getUpperBound() * 1000);
            }
        }
        return Long.MAX_VALUE;
    }
}
