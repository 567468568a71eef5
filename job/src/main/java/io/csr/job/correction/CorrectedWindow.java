package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.contract.MetricUpdate;
import io.csr.job.aggregate.WindowSize;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One window recomputed from {@code metrics_timeseries FINAL}: exact figures, version 2·count + 1, final. Becomes a
 * {@code metric_windows} row and a Contract 3 update like any firing of the live operator.
 */
record CorrectedWindow(String companyId, String metric, WindowSize size, long startMs, long count, double sum,
                       double min, double max, double avg, double p50, double p75, double p95, double stddev,
                       long version, long updatedAtMs) {

    static CorrectedWindow of(String companyId, String metric, WindowSize size, long startMs, JsonNode r, long now) {
        long count = r.get("count").asLong();
        JsonNode q = r.get("q");
        return new CorrectedWindow(companyId, metric, size, startMs, count, r.get("sum").asDouble(),
                r.get("min").asDouble(), r.get("max").asDouble(), r.get("avg").asDouble(),
                q.get(0).asDouble(), q.get(1).asDouble(), q.get(2).asDouble(), r.get("stddev").asDouble(),
                version(count), now);
    }

    /** Above every live firing of fewer events (2·count + final); equal for the same rows, so replays are harmless. */
    static long version(long count) {
        return 2 * count + 1;
    }

    /** toYYYYMM of window_start: the monthly partition of the row. */
    int month() {
        java.time.LocalDate d = Instant.ofEpochMilli(startMs).atZone(java.time.ZoneOffset.UTC).toLocalDate();
        return d.getYear() * 100 + d.getMonthValue();
    }

    Map<String, Object> row() {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("company_id", companyId);
        row.put("metric", metric);
        row.put("window_size", size.label());
        row.put("window_start", SqlLiteral.dateTimeText(Instant.ofEpochMilli(startMs)));
        row.put("window_end", SqlLiteral.dateTimeText(Instant.ofEpochMilli(startMs + size.millis())));
        row.put("count", count);
        row.put("sum", sum);
        row.put("min", min);
        row.put("max", max);
        row.put("avg", avg);
        row.put("p50", p50);
        row.put("p75", p75);
        row.put("p95", p95);
        row.put("stddev", stddev);
        row.put("version", version);
        row.put("final", 1);
        row.put("updated_at", SqlLiteral.dateTimeText(Instant.ofEpochMilli(updatedAtMs)));
        return row;
    }

    MetricUpdate update() {
        return new MetricUpdate(companyId, metric, size.label(), Instant.ofEpochMilli(startMs).toString(), count, sum,
                min, max, avg, p50, p75, p95, stddev, version, true);
    }
}
