package io.csr.job.backfill;

import io.csr.job.model.RawMessage;
import org.apache.flink.api.common.functions.MapFunction;

import java.util.concurrent.atomic.LongAdder;

/**
 * Rows read by the backfill's source, counted where the CLI can see them: the backfill runs in an embedded
 * MiniCluster inside the CLI's JVM, so a static counter is the shortest honest path to "read N of M" (the job's
 * Flink metrics say the same on its REST API).
 */
public final class BackfillProgress implements MapFunction<RawMessage, RawMessage> {
    private static final long serialVersionUID = 1L;
    static final LongAdder READ = new LongAdder();

    @Override
    public RawMessage map(RawMessage row) {
        READ.increment();
        return row;
    }

    static long read() {
        return READ.sum();
    }

    static void reset() {
        READ.reset();
    }
}
