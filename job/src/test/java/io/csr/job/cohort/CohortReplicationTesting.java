package io.csr.job.cohort;

import io.csr.job.sink.clickhouse.ClickHouseTestDatabase;
import org.apache.flink.core.execution.JobClient;

import java.util.concurrent.TimeUnit;

/** What the cohort replication ITCases share. */
final class CohortReplicationTesting {
    private CohortReplicationTesting() {
    }

    /**
     * The end of a test: the replication job cancelled (when one was started), then the test's ClickHouse and
     * PostgreSQL databases dropped, each step attempted whatever the one before did; null means not started.
     */
    static void cancelAndDrop(JobClient job, ClickHouseTestDatabase ch, PostgresTestDatabase pg) throws Exception {
        try {
            if (job != null) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } finally {
            try {
                if (ch != null) {
                    ch.close();
                }
            } finally {
                if (pg != null) {
                    pg.close();
                }
            }
        }
    }
}
