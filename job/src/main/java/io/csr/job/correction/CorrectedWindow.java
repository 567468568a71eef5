package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.aggregate.WindowSize;
import io.csr.job.rows.UpdateVersion;

/**
 * One window recomputed from {@code metrics_timeseries FINAL}, as a {@link WindowFiring} like any firing of the live
 * operator (so it becomes the same {@code metric_windows} row and Contract 3 update): exact figures, version of major
 * 2·count + final with the recomputation's tag ({@link UpdateVersion#recomputed}) — above every live firing of fewer
 * events, equal for the same rows, so replays are harmless. Final unless a live firing of a window that is still open
 * asked for it.
 */
final class CorrectedWindow {
    private CorrectedWindow() {
    }

    static WindowFiring of(String companyId, String metric, WindowSize size, long startMs, JsonNode r, boolean isFinal, long now) {
        WindowFiring f = WindowFiring.at(companyId, metric, size, startMs, isFinal, now);
        f.count = r.get("count").asLong();
        f.sum = r.get("sum").asDouble();
        f.min = r.get("min").asDouble();
        f.max = r.get("max").asDouble();
        f.avg = r.get("avg").asDouble();
        JsonNode q = r.get("q");
        f.p50 = q.get(0).asDouble();
        f.p75 = q.get(1).asDouble();
        f.p95 = q.get(2).asDouble();
        f.stddev = r.get("stddev").asDouble();
        f.version = version(f.count, isFinal);
        return f;
    }

    static long version(long count, boolean isFinal) {
        return UpdateVersion.recomputed(2 * count + (isFinal ? 1 : 0));
    }
}
