package io.csr.job.sink.clickhouse.committer;

import java.io.IOException;

/**
 * A commit could not be completed: a permanent ClickHouse error, or a retriable one that outlasted every retry. It
 * fails the committer task, so Flink restarts the job from its last completed checkpoint, whose state still holds the
 * committable: it is committed again after the restart, never dropped.
 */
public final class ClickHouseCommitException extends IOException {
    private final boolean retriable;

    public ClickHouseCommitException(String message, Throwable cause, boolean retriable) {
        super(message, cause);
        this.retriable = retriable;
    }

    /** True when the cause was retriable but kept failing (e.g. ClickHouse down longer than the retries last). */
    public boolean retriable() {
        return retriable;
    }
}
