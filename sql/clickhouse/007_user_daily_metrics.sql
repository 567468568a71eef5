-- Exact per-user daily aggregates (issue 25): one row per (company, metric, day, user) under FINAL, the figures of
-- that user's observations of that UTC day. The cohort endpoints read these instead of every observation, so their
-- cost grows with members × days, not with observations (docs/analytics.md).
-- Written by the job through the exactly-once sink, versioned like metric_windows: from the window operator's state
-- version = 2·count, recomputed from metrics_timeseries FINAL (late event, backfill, upgrade) 2·count + 1; rows only
-- ever get added to metrics_timeseries, so a higher count is a later, fuller figure, and equal counts are equal rows.
-- q_keys/q_counts: the mergeable quantile summary (common/…/sketch/QuantileBins: logarithmic bins, 0.5 % wide,
-- merged by sumMap). sum_sq: sum of squared values (stddev of a merge = sqrt(sum_sq/n − (sum/n)²)).
-- Observations without a user id ('') are not kept: no cohort has them as a member.
CREATE TABLE IF NOT EXISTS user_daily_metrics (
    company_id String,
    metric     String,
    day        Date,
    user_id    String,
    count      UInt64,
    sum        Float64,
    min        Float64,
    max        Float64,
    sum_sq     Float64,
    q_keys     Array(Int32),
    q_counts   Array(UInt64),
    version    UInt64,
    updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (company_id, metric, day, user_id);

-- Fills the table once from the observations already stored (a deployment upgraded to this version). Rows the job
-- writes later for the same keys carry a higher version whenever they count more observations.
INSERT INTO user_daily_metrics (company_id, metric, day, user_id, count, sum, min, max, sum_sq, q_keys, q_counts, version, updated_at)
SELECT company_id, metric, day, user_id, count() AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
       sum(value * value) AS sum_sq, (sumMap([qk], [toUInt64(1)]) AS qs).1 AS q_keys, qs.2 AS q_counts,
       2 * count() + 1 AS version, now() AS updated_at
FROM (SELECT company_id, metric, toDate(ts) AS day, user_id, value,
             toInt32(if(value = 0, 0, if(value > 0, (toInt32(ceil(log(abs(value)) / 0.010000083334583179)) + 1048576),
                                                   -(toInt32(ceil(log(abs(value)) / 0.010000083334583179)) + 1048576)))) AS qk
      FROM metrics_timeseries FINAL WHERE user_id != '')
GROUP BY company_id, metric, day, user_id;
