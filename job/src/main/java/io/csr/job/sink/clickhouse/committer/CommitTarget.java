package io.csr.job.sink.clickhouse.committer;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseCommittable.LedgerKey;

import java.time.Instant;
import java.util.Collection;
import java.util.Set;

/**
 * The three ClickHouse operations a commit is made of. {@link ClickHouseCommitTarget} is the real one; tests put a
 * fake or a fault-injecting wrapper in its place. Every method throws {@link ClickHouseAccessException}, whose
 * {@code retriable()} decides between retrying and failing.
 */
public interface CommitTarget extends AutoCloseable {

    /** Which of these committables the ledger already records as committed. */
    Set<LedgerKey> committed(Collection<ClickHouseCommittable> candidates);

    /** Inserts one batch (a JSONEachRow body) into its table. */
    void insert(ClickHouseCommittable batch);

    /** Records these batches as committed in the ledger. */
    void record(Collection<ClickHouseCommittable> batches, Instant committedAt);

    @Override
    void close();
}
