package io.csr.job.sink.clickhouse;

import io.csr.common.clickhouse.SqlLiteral;

import java.time.Instant;

/** metrics_timeseries rows as the operators emit them (JSONEachRow lines), for sink tests. */
public final class MetricRows {
    public static final Instant BASE = Instant.parse("2026-11-27T10:00:00Z");

    private MetricRows() {
    }

    /** Row {@code i} of {@code company}: event id {@code e-<i>}, one second apart, value {@code i / 4}. */
    public static TableRow metric(String company, long i) {
        Instant ts = BASE.plusSeconds(i % 86_400);
        return new TableRow("metrics_timeseries", "{\"company_id\":\"" + company + "\",\"metric\":\"sroi\",\"user_id\":\"u-"
                + (i % 97) + "\",\"ts\":\"" + SqlLiteral.dateTimeText(ts) + "\",\"ts_ms\":" + ts.toEpochMilli()
                + ",\"value\":" + (i / 4.0) + ",\"event_id\":\"e-" + i + "\"}");
    }
}
