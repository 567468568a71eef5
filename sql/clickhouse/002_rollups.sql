-- Rollups for hot dashboard queries, fed by materialized views at insert time. They are fast approximations:
-- a commit replayed after a crash between insert and ledger write is collapsed in the base tables (FINAL) but
-- counted again here, so exact figures come from metric_windows / metrics_timeseries FINAL, not from these.

CREATE TABLE IF NOT EXISTS hourly_metrics (
    company_id String,
    metric     String,
    hour       DateTime('UTC'),
    count      AggregateFunction(count),
    sum        AggregateFunction(sum, Float64),
    min        AggregateFunction(min, Float64),
    max        AggregateFunction(max, Float64),
    quantiles  AggregateFunction(quantilesTDigest(0.5, 0.75, 0.95), Float64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (company_id, metric, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_metrics_mv TO hourly_metrics AS
SELECT company_id, metric, toStartOfHour(ts) AS hour,
       countState() AS count, sumState(value) AS sum, minState(value) AS min, maxState(value) AS max,
       quantilesTDigestState(0.5, 0.75, 0.95)(value) AS quantiles
FROM metrics_timeseries
GROUP BY company_id, metric, hour;

CREATE TABLE IF NOT EXISTS daily_event_counts (
    company_id String,
    event_type String,
    day        Date,
    events     UInt64
) ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(day)
ORDER BY (company_id, event_type, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_event_counts_mv TO daily_event_counts AS
SELECT company_id, event_type, toDate(occurred_at) AS day, count() AS events
FROM events
GROUP BY company_id, event_type, day;
