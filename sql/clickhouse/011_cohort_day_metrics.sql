-- Per-cohort daily figures of the open month (issue 25): one row per (company, cohort, UTC day, metric) with the figures
-- of the observations of the cohort's members at the time of the computation, and one header row per (company, cohort,
-- day) (metric = '') saying what that computation read, as cohort_month_metrics does for a closed month. The open month
-- keeps receiving parts, so its whole-partition mark would never hold; a day's input mark is the names of the month's
-- active parts of metrics_timeseries whose time range (system.parts min_time/max_time) meets the day: a new part
-- (replayed batch, late observation, today's inserts) or a merge changes it for exactly the days the part spans.
-- Written only by the gateway (CohortMonths), by INSERT … SELECT from metrics_timeseries FINAL; no materialized view.
-- Header rows: count = the metric rows that computation wrote for the day; input_mark, member_mark as in
-- cohort_month_metrics; refresh unique per computation (FINAL keeps the newest of a key).
CREATE TABLE IF NOT EXISTS cohort_day_metrics (
    company_id  String,
    cohort_id   UInt64,
    day         Date,
    metric      String,
    count       UInt64,
    sum         Float64,
    min         Float64,
    max         Float64,
    sum_sq      Float64,
    q_keys      Array(Int32),
    q_counts    Array(UInt64),
    input_mark  String,
    member_mark String,
    refresh     UInt64
) ENGINE = ReplacingMergeTree(refresh)
PARTITION BY toYYYYMM(day)
ORDER BY (company_id, metric, cohort_id, day)
SETTINGS index_granularity = 32;
