package io.csr.job.sink.clickhouse;

import java.util.Arrays;
import java.util.Objects;

/**
 * One batch of rows for one table, sealed by a writer for one checkpoint and inserted by the committer after that
 * checkpoint completes. It travels through Flink's checkpoint state between the two, so it carries everything the
 * commit needs: the rows themselves (a JSONEachRow body) and the identity under which the commit ledger records it.
 *
 * <p>The ledger key ({@link #ledgerKey()}) uses only values fixed when the writer built the batch, never anything of
 * the job that happens to commit it, so a committable replayed after a restart, failover or resubmission from a
 * savepoint (new job id) is recognised as the same batch.
 */
public final class ClickHouseCommittable {
    private final String sinkId;
    private final String jobId;
    private final String writerId;
    private final int subtask;
    private final long checkpointId;
    private final int batch;
    private final String table;
    private final long preparedAtMs;
    private final int rows;
    private final byte[] payload;

    /**
     * @param sinkId       the configured, stable sink name
     * @param jobId        Flink job id of the writer (information only)
     * @param writerId     random id of the writer instance that built the batch
     * @param subtask      the writer's subtask index
     * @param checkpointId the checkpoint the batch belongs to
     * @param batch        index of the batch among the writer's batches of that checkpoint
     * @param table        target table (validated by the writer against the sink's allowed tables)
     * @param preparedAtMs when the writer sealed the batch, epoch millis
     * @param rows         number of JSON lines in the payload
     * @param payload      JSONEachRow body: one JSON object per line, each line ending in '\n'; not copied
     */
    public ClickHouseCommittable(String sinkId, String jobId, String writerId, int subtask, long checkpointId, int batch,
                                 String table, long preparedAtMs, int rows, byte[] payload) {
        this.sinkId = Objects.requireNonNull(sinkId, "sinkId");
        this.jobId = Objects.requireNonNull(jobId, "jobId");
        this.writerId = Objects.requireNonNull(writerId, "writerId");
        this.subtask = subtask;
        this.checkpointId = checkpointId;
        this.batch = batch;
        this.table = Objects.requireNonNull(table, "table");
        this.preparedAtMs = preparedAtMs;
        this.rows = rows;
        this.payload = Objects.requireNonNull(payload, "payload");
    }

    public String sinkId() {
        return sinkId;
    }

    public String jobId() {
        return jobId;
    }

    public String writerId() {
        return writerId;
    }

    public int subtask() {
        return subtask;
    }

    public long checkpointId() {
        return checkpointId;
    }

    public int batch() {
        return batch;
    }

    public String table() {
        return table;
    }

    public long preparedAtMs() {
        return preparedAtMs;
    }

    public int rows() {
        return rows;
    }

    /** The JSONEachRow body; shared, do not modify. */
    public byte[] payload() {
        return payload;
    }

    public LedgerKey ledgerKey() {
        return new LedgerKey(sinkId, writerId, subtask, checkpointId, batch, table);
    }

    /** Identity of a committed batch in the {@code sink_commits} ledger. */
    public record LedgerKey(String sinkId, String writerId, int subtask, long checkpointId, int batch, String table) {
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ClickHouseCommittable)) {
            return false;
        }
        ClickHouseCommittable c = (ClickHouseCommittable) o;
        return subtask == c.subtask && checkpointId == c.checkpointId && batch == c.batch && preparedAtMs == c.preparedAtMs
                && rows == c.rows && sinkId.equals(c.sinkId) && jobId.equals(c.jobId) && writerId.equals(c.writerId)
                && table.equals(c.table) && Arrays.equals(payload, c.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(sinkId, writerId, subtask, checkpointId, batch, table);
    }

    /** Names the batch without its rows (it ends up in error messages and logs). */
    @Override
    public String toString() {
        return "ClickHouseCommittable{sink=" + sinkId + ", job=" + jobId + ", writer=" + writerId + ", subtask=" + subtask
                + ", checkpoint=" + checkpointId + ", batch=" + batch + ", table=" + table + ", rows=" + rows
                + ", bytes=" + payload.length + "}";
    }
}
