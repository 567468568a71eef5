-- The insert-time rollups of 002 (hourly_metrics, daily_event_counts and their materialized views) counted a batch the
-- sink re-inserted after a crash (between insert and ledger write, or a restore to an older checkpoint) twice: a
-- materialized view sees every INSERT, FINAL on the base table cannot undo that. Nothing reads them, so they go rather
-- than stay as a trap. Cohort figures are computed from metrics_timeseries FINAL and user_cohorts FINAL at query time;
-- docs/analytics.md has the measurement behind "no rollup" and what an exact one would have to look like.
DROP TABLE IF EXISTS hourly_metrics_mv;
DROP TABLE IF EXISTS hourly_metrics;
DROP TABLE IF EXISTS daily_event_counts_mv;
DROP TABLE IF EXISTS daily_event_counts;
