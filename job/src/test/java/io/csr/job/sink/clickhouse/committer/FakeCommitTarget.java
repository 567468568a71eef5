package io.csr.job.sink.clickhouse.committer;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseCommittable.LedgerKey;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * In-memory ClickHouse for committer tests: tables keep every inserted line (what a plain SELECT sees) and
 * {@link #distinctRows} models SELECT … FINAL over ReplacingMergeTree natural keys (identical lines collapse).
 * Faults are queued per operation and thrown before (or, for {@link #failInsertAfterWriting}, after) the effect.
 */
class FakeCommitTarget implements CommitTarget {
    enum Op { LOOKUP, INSERT, RECORD }

    final Map<String, List<String>> tables = new HashMap<>();
    final List<LedgerKey> ledger = new ArrayList<>();
    final Map<Op, Deque<ClickHouseAccessException>> faults = new HashMap<>();
    final Deque<ClickHouseAccessException> faultsAfterInsert = new ArrayDeque<>();
    final Deque<ClickHouseAccessException> faultsAfterRecord = new ArrayDeque<>();
    final List<Op> calls = new ArrayList<>();
    boolean closed;

    static ClickHouseAccessException retriable(String what) {
        return new ClickHouseAccessException("could not reach ClickHouse for " + what + ": Connection refused", null, true, 0);
    }

    static ClickHouseAccessException permanent(String what, int code) {
        return new ClickHouseAccessException("ClickHouse rejected " + what + ": code " + code, null, false, code);
    }

    FakeCommitTarget fail(Op op, ClickHouseAccessException e) {
        faults.computeIfAbsent(op, k -> new ArrayDeque<>()).add(e);
        return this;
    }

    /** The insert reaches the table, then the answer is lost (timeout): the retry inserts the same rows again. */
    FakeCommitTarget failInsertAfterWriting(ClickHouseAccessException e) {
        faultsAfterInsert.add(e);
        return this;
    }

    /** The ledger write reaches the table, then the answer is lost (ClickHouse killed before it answered). */
    FakeCommitTarget failRecordAfterWriting(ClickHouseAccessException e) {
        faultsAfterRecord.add(e);
        return this;
    }

    private void maybeFail(Op op) {
        calls.add(op);
        Deque<ClickHouseAccessException> q = faults.get(op);
        if (q != null && !q.isEmpty()) {
            throw q.poll();
        }
    }

    @Override
    public Set<LedgerKey> committed(Collection<ClickHouseCommittable> candidates) {
        maybeFail(Op.LOOKUP);
        Set<LedgerKey> out = new HashSet<>();
        for (ClickHouseCommittable c : candidates) {
            if (ledger.contains(c.ledgerKey())) {
                out.add(c.ledgerKey());
            }
        }
        return out;
    }

    @Override
    public void insert(ClickHouseCommittable batch) {
        maybeFail(Op.INSERT);
        String body = new String(batch.payload(), StandardCharsets.UTF_8);
        tables.computeIfAbsent(batch.table(), t -> new ArrayList<>()).addAll(List.of(body.split("\n")));
        if (!faultsAfterInsert.isEmpty()) {
            throw faultsAfterInsert.poll();
        }
    }

    @Override
    public void record(Collection<ClickHouseCommittable> batches, Instant committedAt) {
        maybeFail(Op.RECORD);
        batches.forEach(b -> ledger.add(b.ledgerKey()));
        if (!faultsAfterRecord.isEmpty()) {
            throw faultsAfterRecord.poll();
        }
    }

    List<String> rows(String table) {
        return tables.getOrDefault(table, List.of());
    }

    Set<String> distinctRows(String table) {
        return new LinkedHashSet<>(rows(table));
    }

    @Override
    public void close() {
        closed = true;
    }
}
