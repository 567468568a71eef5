-- The per-day breakdown of each per-cohort monthly row (issue 25), so /cohort/{id}/trends reads a year's whole months
-- as a few rows per cohort and metric instead of every member's observations (docs/analytics.md, "Per-cohort months").
-- Written by the same computation (CohortMonths.compute, one INSERT … SELECT from metrics_timeseries FINAL) as the
-- row's other figures, so the header's marks cover it. Metric rows only:
--   day_keys / day_counts: the days of the month (1..31) with observations and their counts (never 0, so one count per
--   key); day_sum_keys / day_sums: the sums of those days' values, as ClickHouse's sumMap gives them, which leaves out a
--   key whose sum is exactly 0 (a day absent there sums to 0).
-- Rows of a computation from before this migration have empty arrays: the refresh recomputes their months, and trends
-- reads such a month from the observations until then.
ALTER TABLE cohort_month_metrics ADD COLUMN day_keys Array(UInt8), ADD COLUMN day_counts Array(UInt64),
    ADD COLUMN day_sum_keys Array(UInt8), ADD COLUMN day_sums Array(Float64);
