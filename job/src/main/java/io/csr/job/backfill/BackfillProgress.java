package io.csr.job.backfill;

import java.util.concurrent.atomic.LongAdder;

/**
 * {@code event_log} rows read ({@link EventLogRows} counts them), where the CLI can see them: backfill and bootstrap
 * run in an embedded MiniCluster inside the CLI's JVM, so a static counter is the shortest honest path to "read N of
 * M" (the job's Flink metrics say the same on its REST API).
 */
public final class BackfillProgress {
    static final LongAdder READ = new LongAdder();

    private BackfillProgress() {
    }

    public static long read() {
        return READ.sum();
    }

    public static void reset() {
        READ.reset();
    }
}
