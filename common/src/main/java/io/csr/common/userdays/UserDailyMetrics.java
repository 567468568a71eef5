package io.csr.common.userdays;

import io.csr.common.sketch.QuantileBins;

/**
 * The table {@code user_daily_metrics} (issue 25, {@code sql/clickhouse/007_user_daily_metrics.sql}) and the one
 * recomputation of its rows from {@code metrics_timeseries FINAL} that the job's corrections, the migration's fill,
 * the benchmark and the tests share: one row per (company, metric, UTC day, user) with observations, version
 * 2·count + 1.
 */
public final class UserDailyMetrics {
    public static final String TABLE = "user_daily_metrics";
    /** The table's columns, in order. */
    public static final String COLUMNS = "company_id, metric, day, user_id, count, sum, min, max, sum_sq, q_keys, q_counts, version, updated_at";

    private UserDailyMetrics() {
    }

    /**
     * The rows of {@link #COLUMNS} recomputed from {@code metrics_timeseries FINAL} rows matching {@code where} (a
     * condition on its sorting-key columns, so it may stand inside FINAL; already validated literals), observations
     * without a user left out.
     */
    public static String recompute(String where) {
        return "SELECT company_id, metric, day, user_id, count() AS count, sum(value) AS sum, min(value) AS min,"
                + " max(value) AS max, sum(value * value) AS sum_sq, (sumMap([qk], [toUInt64(1)]) AS qs).1 AS q_keys,"
                + " qs.2 AS q_counts, 2 * count() + 1 AS version, now() AS updated_at"
                + " FROM (SELECT company_id, metric, toDate(ts) AS day, user_id, value, " + QuantileBins.sqlKey("value") + " AS qk"
                + " FROM metrics_timeseries FINAL WHERE " + where + ")"
                + " WHERE user_id != ''"
                + " GROUP BY company_id, metric, day, user_id";
    }

    /** Writes the recomputation of every observation: a fresh fill (tests and the benchmark's generated data). */
    public static String fillAll() {
        return "INSERT INTO " + TABLE + " (" + COLUMNS + ") " + recompute("1");
    }
}
