package io.csr.job.sink.clickhouse.exactlyonce;

import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.committer.CommitHook;

import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseSettings;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Builds a {@link ClickHouseSink}. Starts from {@link ClickHouseSinkOptions#defaults()}; every setter returns
 * {@code this}; {@link #build()} validates everything once and names the bad value in its error.
 *
 * <pre>{@code
 * ClickHouseSink sink = ClickHouseSink.builder()
 *         .clickHouse(ClickHouseSettings.from(config))
 *         .options(ClickHouseSinkOptions.from(config))
 *         .build();
 * }</pre>
 */
public final class ClickHouseSinkBuilder {
    private static final Pattern SINK_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private ClickHouseSettings clickHouse;
    private String sinkId;
    private int batchRows;
    private long batchBytes;
    private int commitRetries;
    private long retryBackoffMs;
    private long maxRetryBackoffMs;
    private Set<String> tables;
    private CommitHook commitHook = CommitHook.NONE;
    private LeaseSettings lease;

    ClickHouseSinkBuilder() {
        options(ClickHouseSinkOptions.defaults());
    }

    /** Where to write (URL, credentials, database). Required. */
    public ClickHouseSinkBuilder clickHouse(ClickHouseSettings settings) {
        this.clickHouse = settings;
        return this;
    }

    /** Takes every tuning value from {@code options} (e.g. {@link ClickHouseSinkOptions#from}). */
    public ClickHouseSinkBuilder options(ClickHouseSinkOptions options) {
        Objects.requireNonNull(options, "options");
        this.sinkId = options.sinkId();
        this.batchRows = options.batchRows();
        this.batchBytes = options.batchBytes();
        this.commitRetries = options.commitRetries();
        this.retryBackoffMs = options.retryBackoffMs();
        this.maxRetryBackoffMs = options.maxRetryBackoffMs();
        this.tables = options.tables();
        return this;
    }

    public ClickHouseSinkBuilder sinkId(String sinkId) {
        this.sinkId = sinkId;
        return this;
    }

    public ClickHouseSinkBuilder batchRows(int rows) {
        this.batchRows = rows;
        return this;
    }

    public ClickHouseSinkBuilder batchBytes(long bytes) {
        this.batchBytes = bytes;
        return this;
    }

    public ClickHouseSinkBuilder commitRetries(int retries) {
        this.commitRetries = retries;
        return this;
    }

    public ClickHouseSinkBuilder retryBackoff(Duration first, Duration max) {
        this.retryBackoffMs = first.toMillis();
        this.maxRetryBackoffMs = max.toMillis();
        return this;
    }

    public ClickHouseSinkBuilder tables(Collection<String> tables) {
        this.tables = tables == null ? null : new LinkedHashSet<>(tables);
        return this;
    }

    /** Work that follows the inserts of each commit (e.g. window corrections); idempotent. Default: none. */
    public ClickHouseSinkBuilder commitHook(CommitHook hook) {
        this.commitHook = hook;
        return this;
    }

    /**
     * Exactly one job per sink: the writer of subtask 0 holds this lease while the job runs and a job that finds it
     * held by another stops for good ({@link JobLease}). Default: none (tests, benchmarks, bounded runs).
     */
    public ClickHouseSinkBuilder lease(LeaseSettings lease) {
        this.lease = lease;
        return this;
    }

    public ClickHouseSink build() {
        if (commitHook == null) {
            throw new IllegalArgumentException("ClickHouse sink: commitHook(null); pass CommitHook.NONE for none");
        }
        if (clickHouse == null) {
            throw new IllegalArgumentException("ClickHouse sink: clickHouse(settings) was not called; pass ClickHouseSettings.from(config)");
        }
        if (sinkId == null || !SINK_ID.matcher(sinkId).matches()) {
            throw new IllegalArgumentException("ClickHouse sink: CLICKHOUSE_SINK_ID='" + sinkId
                    + "' must be 1-64 letters, digits, '.', '_' or '-', e.g. csr-clickhouse");
        }
        if (batchRows <= 0) {
            throw new IllegalArgumentException("ClickHouse sink: CLICKHOUSE_BATCH_ROWS=" + batchRows + " must be > 0, e.g. 50000");
        }
        if (batchBytes <= 0 || batchBytes > ClickHouseSinkOptions.MAX_BATCH_BYTES) {
            throw new IllegalArgumentException("ClickHouse sink: CLICKHOUSE_BATCH_BYTES=" + batchBytes
                    + " must be in [1, " + ClickHouseSinkOptions.MAX_BATCH_BYTES + "], e.g. 16777216");
        }
        if (commitRetries < 0) {
            throw new IllegalArgumentException("ClickHouse sink: CLICKHOUSE_COMMIT_RETRIES=" + commitRetries + " must be >= 0, e.g. 8");
        }
        if (retryBackoffMs <= 0 || maxRetryBackoffMs < retryBackoffMs) {
            throw new IllegalArgumentException("ClickHouse sink: retry backoff " + retryBackoffMs + " ms .. "
                    + maxRetryBackoffMs + " ms must satisfy 0 < CLICKHOUSE_COMMIT_BACKOFF_MS <= CLICKHOUSE_COMMIT_MAX_BACKOFF_MS");
        }
        if (tables == null || tables.isEmpty()) {
            throw new IllegalArgumentException("ClickHouse sink: at least one table must be allowed, e.g. " + ClickHouseSinkOptions.CONTRACT_TABLES);
        }
        for (String table : tables) {
            SqlLiteral.identifier(table);
        }
        return new ClickHouseSink(clickHouse, new ClickHouseSinkOptions(sinkId, batchRows, batchBytes, commitRetries,
                retryBackoffMs, maxRetryBackoffMs, tables), commitHook, lease);
    }
}
