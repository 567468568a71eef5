-- Which months each user has observations of (issue 25): one row per (company, metric, UTC year, user) with a bitmask
-- of the year's months (bit m-1 for month m) in which the user has at least one observation of the metric, so that
-- the cohort endpoints count a range's distinct members (`users`) from a few thousand small rows per cohort instead
-- of merging per-cohort distinct-member states (docs/analytics.md, "Distinct members: the month masks").
-- u = cityHash64(user_id), as /cohort/top's join (two distinct ids of one company share it with probability ~n²/2⁶⁵).
-- Written only by the gateway (CohortMonths), by INSERT … SELECT from metrics_timeseries FINAL, one year of every
-- company per computation; no materialized view. Every computation has its own refresh id and partition (refresh),
-- so a computation's rows are never merged with another's, and superseded computations are dropped whole.
-- Header row of a computation: company_id = '' and metric = '', u = 0; marks = for each month it covered,
-- "YYYYMM=<names of the month's active parts of metrics_timeseries>" joined by semicolons (the same input mark as
-- cohort_month_metrics: part names never repeat, so the same names mean the same rows); rows = the rows of the
-- computation's partition, header included (a reader checks them against system.parts to know the partition is whole).
CREATE TABLE IF NOT EXISTS user_month_masks (
    company_id String,
    metric     String,
    year       UInt16,
    u          UInt64,
    mask       UInt16,
    marks      String,
    rows       UInt64,
    refresh    UInt64
) ENGINE = MergeTree
PARTITION BY refresh
ORDER BY (company_id, metric, year, u);
