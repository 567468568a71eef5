package io.csr.job.sink.clickhouse.committer;

import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;

import java.io.Serializable;
import java.util.List;

/**
 * Work that has to follow the insert of a checkpoint's batches within the same commit, e.g. recomputing the windows
 * of late rows from the rows just inserted ({@code correction.WindowRecompute}). The committer runs it after every
 * batch of one commit call is inserted and before the ledger records them, so a crash in between repeats it on
 * replay: an action must be idempotent. Serializable configuration; {@link #open} builds the runtime part once per
 * committer.
 */
public interface CommitHook extends Serializable {

    /** A hook that does nothing (the default). */
    CommitHook NONE = settings -> new Action() {
        @Override
        public void afterInsert(List<ClickHouseCommittable> inserted) {
        }

        @Override
        public void close() {
        }
    };

    Action open(ClickHouseSettings clickHouse);

    /** This hook, then {@code next}, after every commit call (each idempotent, so a replay may repeat both). */
    default CommitHook andThen(CommitHook next) {
        CommitHook first = this;
        return settings -> {
            Action a = first.open(settings);
            Action b;
            try {
                b = next.open(settings);
            } catch (RuntimeException e) {
                a.close();
                throw e;
            }
            return new Action() {
                @Override
                public void afterInsert(List<ClickHouseCommittable> inserted) throws Exception {
                    a.afterInsert(inserted);
                    b.afterInsert(inserted);
                }

                @Override
                public void close() {
                    try {
                        a.close();
                    } finally {
                        b.close();
                    }
                }
            };
        };
    }

    /** The runtime part: clients are opened lazily or in {@link #open} and closed with the committer. */
    interface Action extends AutoCloseable {
        /**
         * Called once per commit call with the batches this call inserted (batches the ledger skipped are not
         * included). A {@link io.csr.common.clickhouse.ClickHouseAccessException} is retried like an insert.
         */
        void afterInsert(List<ClickHouseCommittable> inserted) throws Exception;

        @Override
        void close();
    }
}
