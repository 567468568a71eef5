-- Commit ledger of the exactly-once ClickHouse sink (job/.../sink/clickhouse). The committer looks a committable up
-- here before inserting it and records it right after; a replayed committable that is already recorded is skipped.
-- One row per committed batch. The key is made only of values the committable carries from the writer that created
-- it (never of the committing job's own id), so a replay after restart, failover or redeployment finds its row:
--   sink_id        stable configured name (CLICKHOUSE_SINK_ID)
--   writer_id      random id of the writer instance that built the batch (new after every (re)start, so batches built
--                  after a restore from an older checkpoint never collide with batches committed before it)
--   checkpoint_id  the Flink checkpoint the batch belongs to; subtask, batch (index within the checkpoint), table_name.
-- prepared_at is set by the writer and travels with the committable, so a replay lands in the same monthly partition
-- and collapses under FINAL; retention drops old partitions like those of the data tables.
CREATE TABLE IF NOT EXISTS sink_commits (
    sink_id       String,
    writer_id     String,
    subtask       UInt32,
    checkpoint_id UInt64,
    batch         UInt32,
    table_name    String,
    job_id        String,           -- Flink job id of the writer (information only: it may change on resubmission)
    rows          UInt64,
    bytes         UInt64,
    prepared_at   DateTime('UTC'),  -- when the writer sealed the batch
    committed_at  DateTime('UTC')   -- when this ledger row was written
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(prepared_at)
ORDER BY (sink_id, checkpoint_id, subtask, writer_id, batch, table_name);
