package io.csr.job.sink.clickhouse.committer;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseCommittable.LedgerKey;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import org.apache.flink.api.connector.sink2.Committer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Inserts a completed checkpoint's batches into ClickHouse, idempotently. Flink calls {@link #commit} once the
 * checkpoint the batches belong to has completed, and again with the same batches after a restore from that
 * checkpoint. Per call:
 * <ol>
 *   <li>read the ledger ({@code sink_commits}) for all the call's batches at once; a recorded batch is skipped
 *       ({@code signalAlreadyCommitted});</li>
 *   <li>insert every other batch into its table;</li>
 *   <li>record the inserted batches in the ledger (one insert; a retry records only those the ledger does not
 *       hold yet, see {@link #recordOnce}).</li>
 * </ol>
 * A crash after 2 and before 3 makes the next attempt insert those batches again; the tables' ReplacingMergeTree keys
 * collapse the copies under {@code FINAL}. Each step retries a retriable ClickHouse error with exponential backoff;
 * a permanent error, or a retriable one outlasting the retries, throws {@link ClickHouseCommitException}: the job
 * fails over and commits the batch again from its checkpoint. A batch is never dropped.
 */
public final class ClickHouseCommitter implements Committer<ClickHouseCommittable> {
    private static final Logger LOG = LoggerFactory.getLogger(ClickHouseCommitter.class);
    private static final int UNKNOWN_TABLE = 60;
    private static final int NO_SUCH_COLUMN_IN_TABLE = 16;

    /** Waits between retries; tests replace it to run without real delays. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private final CommitTarget target;
    private final CommitHook.Action hook;
    private final int retries;
    private final long firstBackoffMs;
    private final long maxBackoffMs;
    private final CommitterMetrics metrics;
    private final Sleeper sleeper;
    private final Clock clock;

    public ClickHouseCommitter(CommitTarget target, ClickHouseSinkOptions options, CommitterMetrics metrics) {
        this(target, CommitHook.NONE.open(null), options, metrics, Thread::sleep, Clock.systemUTC());
    }

    public ClickHouseCommitter(CommitTarget target, CommitHook.Action hook, ClickHouseSinkOptions options,
                               CommitterMetrics metrics) {
        this(target, hook, options, metrics, Thread::sleep, Clock.systemUTC());
    }

    public ClickHouseCommitter(CommitTarget target, ClickHouseSinkOptions options, CommitterMetrics metrics,
                               Sleeper sleeper, Clock clock) {
        this(target, CommitHook.NONE.open(null), options, metrics, sleeper, clock);
    }

    public ClickHouseCommitter(CommitTarget target, CommitHook.Action hook, ClickHouseSinkOptions options,
                               CommitterMetrics metrics, Sleeper sleeper, Clock clock) {
        this.target = target;
        this.hook = hook;
        this.retries = options.commitRetries();
        this.firstBackoffMs = options.retryBackoffMs();
        this.maxBackoffMs = options.maxRetryBackoffMs();
        this.metrics = metrics;
        this.sleeper = sleeper;
        this.clock = clock;
    }

    @Override
    public void commit(Collection<CommitRequest<ClickHouseCommittable>> requests) throws IOException, InterruptedException {
        if (requests.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        metrics.pending(requests.size());
        List<ClickHouseCommittable> all = new ArrayList<>(requests.size());
        for (CommitRequest<ClickHouseCommittable> request : requests) {
            all.add(request.getCommittable());
        }
        Set<LedgerKey> done = new HashSet<>(withRetries(() -> "read the commit ledger for " + describe(all),
                () -> target.committed(all)));

        List<ClickHouseCommittable> inserted = new ArrayList<>();
        try {
            for (CommitRequest<ClickHouseCommittable> request : requests) {
                ClickHouseCommittable batch = request.getCommittable();
                if (!done.add(batch.ledgerKey())) {
                    LOG.info("Skipping {}: the ledger records it as committed (a replay after restore)", batch);
                    request.signalAlreadyCommitted();
                    metrics.alreadyCommitted();
                    continue;
                }
                withRetries(() -> "insert " + batch, () -> {
                    target.insert(batch);
                    return null;
                });
                inserted.add(batch);
            }
        } catch (IOException | RuntimeException | InterruptedException | Error failure) {
            // Record what did go in, so a restart skips it; if that fails too, those batches are simply replayed.
            if (!inserted.isEmpty()) {
                try {
                    target.record(inserted, clock.instant());
                } catch (RuntimeException recordFailure) {
                    failure.addSuppressed(recordFailure);
                }
            }
            throw failure;
        }
        if (!inserted.isEmpty()) {
            // after every insert of this call, before the ledger: a crash in between repeats the (idempotent) hook
            withRetries(() -> "run the post-insert step for " + describe(inserted), () -> {
                try {
                    hook.afterInsert(inserted);
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException("the post-insert step failed: " + e.getMessage(), e);
                }
                return null;
            });
            recordOnce(inserted);
            for (ClickHouseCommittable batch : inserted) {
                metrics.committed(batch.rows(), batch.bodyBytes());
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        metrics.commitTook(millis);
        LOG.debug("Committed {} of {} batches in {} ms", inserted.size(), requests.size(), millis);
    }

    /**
     * Records the batches in the ledger, each once: a retry first reads which of them the failed attempt did record —
     * an INSERT ClickHouse stored before it died (or before its answer was lost) — and records only the rest. Without
     * that read the same ledger row went in twice (found by csr soak: a kill of ClickHouse during the ledger INSERT;
     * FINAL hides it, the merge-proof ledger count does not). A server that was stopped, not killed, may still run the
     * first INSERT after the retry read: that window stays.
     */
    private void recordOnce(List<ClickHouseCommittable> batches) throws ClickHouseCommitException, InterruptedException {
        boolean[] retry = {false};
        withRetries(() -> "record " + batches.size() + " batches in the commit ledger", () -> {
            List<ClickHouseCommittable> missing = batches;
            if (retry[0]) {
                Set<LedgerKey> recorded = target.committed(batches);
                missing = batches.stream().filter(b -> !recorded.contains(b.ledgerKey())).toList();
            }
            retry[0] = true;
            if (!missing.isEmpty()) {
                target.record(missing, clock.instant());
            }
            return null;
        });
    }

    private <T> T withRetries(Supplier<String> what, Supplier<T> step) throws ClickHouseCommitException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                return step.get();
            } catch (ClickHouseAccessException e) {
                if (!e.retriable()) {
                    throw new ClickHouseCommitException("ClickHouse sink: permanent ClickHouse error, could not " + what.get()
                            + ": " + e.getMessage() + hint(e) + ". The batch stays in Flink's checkpoint and is committed "
                            + "again when the job restarts; nothing was dropped.", e, false);
                }
                if (attempt >= retries) {
                    throw new ClickHouseCommitException("ClickHouse sink: could not " + what.get() + " after " + retries
                            + " retries (CLICKHOUSE_COMMIT_RETRIES): " + e.getMessage() + ". Check that ClickHouse is up "
                            + "(bin/csr status); the batch stays in Flink's checkpoint and is committed again when the job "
                            + "restarts.", e, true);
                }
                long delay = backoffMs(attempt);
                metrics.retry();
                LOG.warn("ClickHouse sink: retry {}/{} in {} ms to {}: {}", attempt + 1, retries, delay, what.get(), e.getMessage());
                sleeper.sleep(delay);
            }
        }
    }

    long backoffMs(int attempt) {
        long delay = firstBackoffMs;
        for (int i = 0; i < attempt && delay < maxBackoffMs; i++) {
            delay *= 2;
        }
        return Math.min(delay, maxBackoffMs);
    }

    private static String hint(ClickHouseAccessException e) {
        if (e.serverCode() == UNKNOWN_TABLE || e.serverCode() == NO_SUCH_COLUMN_IN_TABLE) {
            return " (the schema is behind the job: apply the ClickHouse migrations with bin/csr migrate)";
        }
        return "";
    }

    private static String describe(List<ClickHouseCommittable> batches) {
        ClickHouseCommittable first = batches.get(0);
        return batches.size() + " batches (first: " + first + ")";
    }

    @Override
    public void close() {
        hook.close();
        target.close();
    }
}
