package io.csr.job.aggregate;

import io.csr.common.contract.MetricUpdate;
import io.csr.common.contract.UpdateType;
import io.csr.job.model.RedisUpdate;
import io.csr.job.rows.RowFormat;
import io.csr.job.rows.VersionedRow;
import io.csr.job.sink.clickhouse.TableRow;

/**
 * One firing of one window of one (company, metric): absolute values, the firing's {@code version} (increasing per
 * company, metric, window, windowStart) and {@code isFinal} (its key's event-time clock passed the window end). Becomes a
 * {@code metric_windows} row and a Contract 3 update. Flink POJO.
 */
public class WindowFiring implements VersionedRow {
    public String companyId;
    public String metric;
    /** 1m, 1h or 1d. */
    public String window;
    public long windowStartMs;
    public long windowEndMs;
    public long count;
    public double sum;
    public double min;
    public double max;
    public double avg;
    public double p50;
    public double p75;
    public double p95;
    public double stddev;
    public long version;
    public boolean isFinal;
    public long updatedAtMs;
    /**
     * The window lies in a span a backfill recomputed, so state holds only part of its events: this firing carries no
     * figures anyone may see; it becomes a {@code window_recomputes} request, and the sink writes and publishes the
     * recomputed window after the commit.
     */
    public boolean recompute;

    public WindowFiring() {
    }

    static WindowFiring of(String companyId, String metric, WindowSize size, long startMs, WindowAccumulator acc,
                           boolean isFinal, long updatedAtMs) {
        WindowFiring f = at(companyId, metric, size, startMs, isFinal, updatedAtMs);
        f.count = acc.count();
        f.sum = acc.sum();
        f.min = acc.min();
        f.max = acc.max();
        f.avg = acc.avg();
        double[] q = acc.quantiles(0.50, 0.75, 0.95);
        f.p50 = q[0];
        f.p75 = q[1];
        f.p95 = q[2];
        f.stddev = acc.stddev();
        f.version = acc.version();
        return f;
    }

    /** A firing of {@code size}'s window from {@code startMs} of (company, metric), its figures and version still to set. */
    public static WindowFiring at(String companyId, String metric, WindowSize size, long startMs, boolean isFinal, long updatedAtMs) {
        WindowFiring f = new WindowFiring();
        f.companyId = companyId;
        f.metric = metric;
        f.window = size.label();
        f.windowStartMs = startMs;
        f.windowEndMs = startMs + size.millis();
        f.isFinal = isFinal;
        f.updatedAtMs = updatedAtMs;
        return f;
    }

    /**
     * The row this firing writes: its {@code metric_windows} row (ReplacingMergeTree on version; read with FINAL), or,
     * for a {@link #recompute} firing, its {@code window_recomputes} request.
     */
    @Override
    public String rowKey() {
        return companyId + "|" + metric + "|" + window + "|" + windowStartMs;
    }

    @Override
    public long rowVersion() {
        return version;
    }

    @Override
    public TableRow toTableRow() {
        if (recompute) {
            return RecomputeRequests.row(companyId, metric, WindowSize.of(window), windowStartMs, windowEndMs, isFinal, true,
                    RecomputeRequests.FIRING, updatedAtMs);
        }
        return RowFormat.row("metric_windows", windowStartMs, RowFormat.object()
                .put("company_id", companyId)
                .put("metric", metric)
                .put("window_size", window)
                .put("window_start", RowFormat.dateTime(windowStartMs))
                .put("window_end", RowFormat.dateTime(windowEndMs))
                .put("count", count)
                .put("sum", sum)
                .put("min", min)
                .put("max", max)
                .put("avg", avg)
                .put("p50", p50)
                .put("p75", p75)
                .put("p95", p95)
                .put("stddev", stddev)
                .put("version", version)
                .put("final", isFinal ? 1 : 0)
                .put("updated_at", RowFormat.dateTime(updatedAtMs)));
    }

    /** The Contract 3 update: sroi_updated, vis_updated or metric_updated with a {@link MetricUpdate}. */
    public RedisUpdate toRedisUpdate() {
        MetricUpdate data = new MetricUpdate(companyId, metric, window, RowFormat.isoInstant(windowStartMs), count, sum,
                min, max, avg, p50, p75, p95, stddev, version, isFinal);
        return new RedisUpdate(companyId, UpdateType.forMetric(metric).wireName(), RowFormat.json(data));
    }

    @Override
    public String toString() {
        return "WindowFiring{" + companyId + "/" + metric + " " + window + "@" + RowFormat.isoInstant(windowStartMs)
                + " v" + version + (isFinal ? " final" : "") + (recompute ? " recompute" : "") + " count=" + count + " sum=" + sum + "}";
    }
}
