-- Which days of the open month each user has observations of (issue 25): one row per (company, metric, UTC month, user)
-- with a bitmask of the month's days (bit d-1 for day d), so the cohort endpoints count the distinct members of the
-- open month's computed days from one small row per member, as user_month_masks does for closed months.
-- u = cityHash64(user_id). Written only by the gateway (CohortMonths), by INSERT … SELECT from metrics_timeseries FINAL;
-- no materialized view. One partition per computation (refresh); superseded computations are dropped whole.
-- Header row of a computation: company_id = '' and metric = '', u = 0; marks = for each day it covered,
-- "YYYY-MM-DD=<the day's input mark>" joined by semicolons (see cohort_day_metrics); rows = the rows of the
-- computation's partition, header included.
CREATE TABLE IF NOT EXISTS user_day_masks (
    company_id String,
    metric     String,
    month      Date,
    u          UInt64,
    mask       UInt32,
    marks      String,
    rows       UInt64,
    refresh    UInt64
) ENGINE = MergeTree
PARTITION BY refresh
ORDER BY (company_id, metric, month, u);
