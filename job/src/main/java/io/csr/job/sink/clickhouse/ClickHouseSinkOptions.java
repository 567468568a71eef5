package io.csr.job.sink.clickhouse;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.io.Serializable;
import java.util.Set;

/**
 * Tuning of the exactly-once ClickHouse sink. Defaults live in {@link #defaults()}; {@link #from(CsrConfig)} reads the
 * job's configuration once (keys documented in {@link ConfigKey}); the sink's builder
 * ({@code exactlyonce.ClickHouseSinkBuilder}) validates them.
 *
 * @param sinkId            stable name in the commit ledger (CLICKHOUSE_SINK_ID)
 * @param batchRows         most rows per INSERT (CLICKHOUSE_BATCH_ROWS)
 * @param batchBytes        most JSONEachRow bytes per INSERT (CLICKHOUSE_BATCH_BYTES)
 * @param commitRetries     retries of a retriable error per commit step (CLICKHOUSE_COMMIT_RETRIES)
 * @param retryBackoffMs    first backoff (CLICKHOUSE_COMMIT_BACKOFF_MS), doubled per retry
 * @param maxRetryBackoffMs backoff cap (CLICKHOUSE_COMMIT_MAX_BACKOFF_MS)
 * @param tables            the tables this sink may write; a row for any other table fails the job
 */
public record ClickHouseSinkOptions(String sinkId, int batchRows, long batchBytes, int commitRetries,
                                    long retryBackoffMs, long maxRetryBackoffMs, Set<String> tables) implements Serializable {

    /** Largest CLICKHOUSE_BATCH_BYTES: a committable is one array in Flink state; stay far below the 2 GiB array limit. */
    public static final long MAX_BATCH_BYTES = 1L << 30;

    /** Tables of Contract 2 the operators write through this sink. */
    public static final Set<String> CONTRACT_TABLES =
            Set.of("events", "metrics_timeseries", "metric_windows", "dead_letters", "late_events", "window_recomputes",
                    "cohorts", "user_cohorts", "user_daily_metrics");

    public static ClickHouseSinkOptions defaults() {
        return new ClickHouseSinkOptions(
                ConfigKey.CLICKHOUSE_SINK_ID.defaultValue(),
                Integer.parseInt(ConfigKey.CLICKHOUSE_BATCH_ROWS.defaultValue()),
                Long.parseLong(ConfigKey.CLICKHOUSE_BATCH_BYTES.defaultValue()),
                Integer.parseInt(ConfigKey.CLICKHOUSE_COMMIT_RETRIES.defaultValue()),
                Long.parseLong(ConfigKey.CLICKHOUSE_COMMIT_BACKOFF_MS.defaultValue()),
                Long.parseLong(ConfigKey.CLICKHOUSE_COMMIT_MAX_BACKOFF_MS.defaultValue()),
                CONTRACT_TABLES);
    }

    public static ClickHouseSinkOptions from(CsrConfig config) {
        return new ClickHouseSinkOptions(
                config.get(ConfigKey.CLICKHOUSE_SINK_ID),
                (int) config.getLong(ConfigKey.CLICKHOUSE_BATCH_ROWS, 1, Integer.MAX_VALUE),
                config.getLong(ConfigKey.CLICKHOUSE_BATCH_BYTES, 1, MAX_BATCH_BYTES),
                (int) config.getLong(ConfigKey.CLICKHOUSE_COMMIT_RETRIES, 0, 1_000),
                config.getLong(ConfigKey.CLICKHOUSE_COMMIT_BACKOFF_MS, 1, 3_600_000),
                config.getLong(ConfigKey.CLICKHOUSE_COMMIT_MAX_BACKOFF_MS, 1, 3_600_000),
                CONTRACT_TABLES);
    }

    public ClickHouseSinkOptions {
        tables = tables == null ? null : Set.copyOf(tables);
    }
}
