package io.csr.job.sink.clickhouse.committer;

import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import org.apache.flink.api.connector.sink2.Committer.CommitRequest;

/** Records what the committer signalled for one committable (Flink's own request type is internal). */
public final class FakeCommitRequest implements CommitRequest<ClickHouseCommittable> {
    public enum Outcome { NONE, ALREADY_COMMITTED, RETRY_LATER, FAILED_KNOWN, FAILED_UNKNOWN }

    public final ClickHouseCommittable committable;
    public Outcome outcome = Outcome.NONE;

    public FakeCommitRequest(ClickHouseCommittable committable) {
        this.committable = committable;
    }

    @Override
    public ClickHouseCommittable getCommittable() {
        return committable;
    }

    @Override
    public int getNumberOfRetries() {
        return 0;
    }

    @Override
    public void signalFailedWithKnownReason(Throwable t) {
        outcome = Outcome.FAILED_KNOWN;
    }

    @Override
    public void signalFailedWithUnknownReason(Throwable t) {
        outcome = Outcome.FAILED_UNKNOWN;
    }

    @Override
    public void retryLater() {
        outcome = Outcome.RETRY_LATER;
    }

    @Override
    public void updateAndRetryLater(ClickHouseCommittable committable) {
        retryLater(); // the committable is not kept: what counts is that a retry was asked for
    }

    @Override
    public void signalAlreadyCommitted() {
        outcome = Outcome.ALREADY_COMMITTED;
    }
}
