-- Contract 2 core tables. Kept inside the dialect ClickHouse 18.16 and 24.x share (see DESIGN.md):
-- DateTime('UTC') (no DateTime64), ReplacingMergeTree natural keys so a replayed commit is invisible under FINAL,
-- monthly partitions so retention can DROP PARTITION (no TTL). Every statement is idempotent.

-- Every valid event, once per event_id under FINAL.
CREATE TABLE IF NOT EXISTS events (
    event_id       String,
    event_type     String,          -- metric | journey | q2q
    subject        String,          -- NATS subject, e.g. metrics.sroi
    company_id     String,
    user_id        String,          -- '' when the event has none
    occurred_at    DateTime('UTC'),
    occurred_at_ms UInt64,          -- epoch millis (second-precision DateTime is all 18.16 has)
    payload        String,          -- the raw JSON as received
    stream_seq     UInt64,
    ingested_at    DateTime('UTC')
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (company_id, event_type, occurred_at, event_id);

-- One row per numeric observation (metrics.* and q2q.*, the latter as metric q2q_<dimension>).
CREATE TABLE IF NOT EXISTS metrics_timeseries (
    company_id String,
    metric     String,
    user_id    String,
    ts         DateTime('UTC'),
    ts_ms      UInt64,
    value      Float64,
    event_id   String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (company_id, metric, ts, event_id);

-- Windowed aggregates; every firing writes a row with a higher version; read with FINAL.
CREATE TABLE IF NOT EXISTS metric_windows (
    company_id   String,
    metric       String,
    window_size  String,            -- 1m | 1h | 1d
    window_start DateTime('UTC'),
    window_end   DateTime('UTC'),
    count        UInt64,
    sum          Float64,
    min          Float64,
    max          Float64,
    avg          Float64,
    p50          Float64,
    p75          Float64,
    p95          Float64,
    stddev       Float64,
    version      UInt64,
    final        UInt8,             -- 1 once the watermark passed the window end
    updated_at   DateTime('UTC')
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (company_id, metric, window_size, window_start);

-- Input the job could not accept, with the reason; one row per (stream, stream_seq).
CREATE TABLE IF NOT EXISTS dead_letters (
    received_at DateTime('UTC'),    -- JetStream's timestamp of the message, so a replay writes the same row
    stream      String,
    subject     String,
    stream_seq  UInt64,
    error       String,
    payload     String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (stream, stream_seq);

-- Valid events that arrived after their window's allowed lateness: stored and counted, never dropped silently.
CREATE TABLE IF NOT EXISTS late_events (
    company_id  String,
    metric      String,
    event_id    String,
    occurred_at DateTime('UTC'),
    value       Float64,
    window_size String,
    received_at DateTime('UTC')
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (company_id, metric, window_size, occurred_at, event_id);

-- Cohorts replicated from PostgreSQL by the job; version = updated_at in epoch millis.
CREATE TABLE IF NOT EXISTS cohorts (
    id          UInt64,
    company_id  String,
    name        String,
    description String,
    created_at  DateTime('UTC'),
    updated_at  DateTime('UTC'),
    deleted     UInt8,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (company_id, id);

-- Memberships replicated from PostgreSQL; active = 1 while left_at is unset.
CREATE TABLE IF NOT EXISTS user_cohorts (
    cohort_id  UInt64,
    company_id String,
    user_id    String,
    joined_at  DateTime('UTC'),
    left_at    DateTime('UTC'),     -- 0000-00-00 00:00:00 (epoch 0) while a member
    active     UInt8,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (company_id, cohort_id, user_id);
