package io.csr.job.sink.clickhouse.committer;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseCommittable.LedgerKey;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** {@link CommitTarget} over the shared ClickHouse access layer; the ledger is table {@code sink_commits} (migration 003). */
public final class ClickHouseCommitTarget implements CommitTarget {
    public static final String LEDGER_TABLE = "sink_commits";

    private final ClickHouseAccess clickHouse;

    /** Takes ownership of {@code clickHouse} and closes it in {@link #close()}. */
    public ClickHouseCommitTarget(ClickHouseAccess clickHouse) {
        this.clickHouse = clickHouse;
    }

    @Override
    public Set<LedgerKey> committed(Collection<ClickHouseCommittable> candidates) {
        Set<LedgerKey> found = new HashSet<>();
        Map<String, List<ClickHouseCommittable>> bySink = candidates.stream()
                .collect(Collectors.groupingBy(ClickHouseCommittable::sinkId, LinkedHashMap::new, Collectors.toList()));
        for (Map.Entry<String, List<ClickHouseCommittable>> e : bySink.entrySet()) {
            Set<Long> checkpoints = new TreeSet<>();
            Set<String> writers = new TreeSet<>();
            for (ClickHouseCommittable c : e.getValue()) {
                checkpoints.add(c.checkpointId());
                writers.add(c.writerId());
            }
            // No FINAL: existence is all we ask, and a duplicate ledger row changes nothing.
            String sql = "SELECT DISTINCT writer_id, subtask, checkpoint_id, batch, table_name FROM " + LEDGER_TABLE
                    + " WHERE sink_id = " + SqlLiteral.string(e.getKey())
                    + " AND checkpoint_id IN " + SqlLiteral.numberList(checkpoints)
                    + " AND writer_id IN " + SqlLiteral.stringList(writers);
            for (JsonNode row : clickHouse.query(sql)) {
                found.add(new LedgerKey(e.getKey(), row.get("writer_id").asText(), row.get("subtask").asInt(),
                        row.get("checkpoint_id").asLong(), row.get("batch").asInt(), row.get("table_name").asText()));
            }
        }
        return found;
    }

    @Override
    public void insert(ClickHouseCommittable batch) {
        clickHouse.insertJsonEachRow(batch.table(), batch.openBody(), batch.bodyBytes());
    }

    @Override
    public void record(Collection<ClickHouseCommittable> batches, Instant committedAt) {
        List<Map<String, Object>> rows = new ArrayList<>(batches.size());
        String committed = SqlLiteral.dateTimeText(committedAt);
        for (ClickHouseCommittable c : batches) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("sink_id", c.sinkId());
            row.put("writer_id", c.writerId());
            row.put("subtask", c.subtask());
            row.put("checkpoint_id", c.checkpointId());
            row.put("batch", c.batch());
            row.put("table_name", c.table());
            row.put("job_id", c.jobId());
            row.put("rows", c.rows());
            row.put("bytes", c.bodyBytes());
            row.put("prepared_at", SqlLiteral.dateTimeText(Instant.ofEpochMilli(c.preparedAtMs())));
            row.put("committed_at", committed);
            rows.add(row);
        }
        clickHouse.insertRows(LEDGER_TABLE, rows);
    }

    @Override
    public void close() {
        clickHouse.close();
    }
}
