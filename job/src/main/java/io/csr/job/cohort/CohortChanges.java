package io.csr.job.cohort;

import java.io.Serializable;
import java.sql.SQLException;

/** Where {@link CohortReplicator} reads changes from: PostgreSQL ({@link CohortChangeReader}) or a test's fake. */
public interface CohortChanges extends AutoCloseable {
    /** Changes at or after {@code watermarkMicros} and the next watermark; throws when the database cannot answer. */
    CohortPoll poll(long watermarkMicros) throws SQLException;

    @Override
    void close();

    /** Opens the reader inside the running task (readers hold connections, so they are not part of the job graph). */
    @FunctionalInterface
    interface Factory extends Serializable {
        CohortChanges open(CohortReplicationOptions options) throws Exception;
    }
}
