-- Per-cohort monthly figures (issue 25): one row per (company, cohort, UTC month, metric) with the figures of the
-- observations of the cohort's members at the time of the computation, and one header row per (company, cohort,
-- month) (metric = '') saying what that computation read. The cohort endpoints use a month's rows only while the header
-- still describes the data (docs/analytics.md, "Per-cohort months"); everything else is read as before, so a stale row
-- costs speed, never exactness. Written only by the gateway (CohortMonths), by INSERT … SELECT from
-- metrics_timeseries FINAL; no materialized view.
-- Metric rows: count, sum, min, max, sum_sq, the quantile bins (q_keys/q_counts, as user_daily_metrics) and the exact
-- distinct members (uniqExact state of cityHash64(user_id), merged across months by uniqExactMerge; two distinct ids
-- of one company share a 64-bit hash with probability about n²/2⁶⁵, as in /cohort/top's join).
-- Header rows: count = the number of metric rows that computation wrote (all carry its refresh id); input_mark = the
-- names of the active parts of the month's partition of metrics_timeseries (part names never repeat, so the same
-- names mean the same rows); member_mark = count and sum of version of the cohort's user_cohorts FINAL rows (a pair's
-- version only rises, so every join or leave raises the sum).
-- refresh: unique per computation; FINAL keeps the newest of a key.
-- Sorted by metric first and index_granularity 32 (a cohort's year of one metric is 12 rows): a request reads the
-- granules of its metric and cohorts only, since the users states of large cohorts are tens of kilobytes a row
-- (with the metric last and 8192 rows a granule, one request read every cohort's states of every metric).
CREATE TABLE IF NOT EXISTS cohort_month_metrics (
    company_id  String,
    cohort_id   UInt64,
    month       Date,
    metric      String,
    count       UInt64,
    sum         Float64,
    min         Float64,
    max         Float64,
    sum_sq      Float64,
    q_keys      Array(Int32),
    q_counts    Array(UInt64),
    users       AggregateFunction(uniqExact, UInt64),
    input_mark  String,
    member_mark String,
    refresh     UInt64
) ENGINE = ReplacingMergeTree(refresh)
PARTITION BY toYYYYMM(month)
ORDER BY (company_id, metric, cohort_id, month)
SETTINGS index_granularity = 32;
