-- Requests to recompute windows from metrics_timeseries FINAL after a commit (issue 27), kept as an audit trail.
-- The live job writes one when a window that a backfill recomputed fires (its state holds only part of the window's
-- events, so its figures are never written), and when a backfill's notice reaches it (every window of the span is
-- recomputed once more). One row per (company, metric, size, span, reason) under FINAL; retention like late_events.
CREATE TABLE IF NOT EXISTS window_recomputes (
    company_id   String,
    metric       String,
    window_size  String,            -- 1m | 1h | 1d
    from_ts      DateTime('UTC'),   -- the windows starting in [from_ts, to_ts)
    to_ts        DateTime('UTC'),
    final        UInt8,             -- the live job's clock had passed the window end
    publish      UInt8,             -- the recomputed windows also go to the Redis update streams
    reason       String,            -- backfilled-window | backfill-notice
    requested_at DateTime('UTC')
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(from_ts)
ORDER BY (company_id, metric, window_size, from_ts, to_ts, reason);
