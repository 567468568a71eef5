package io.csr.job.cohort;

import java.util.OptionalLong;

/**
 * The read position of the cohort replication: every poll re-reads the rows with {@code updated_at >= watermark}
 * (epoch microseconds, PostgreSQL's own precision and clock), and this class decides how far the next poll may skip.
 *
 * <p>Why a row is never missed. PostgreSQL's {@code now()} is the start of the writing transaction, and the triggers
 * of sql/postgres/003 never set an {@code updated_at} lower than that. A poll first asks PostgreSQL for its clock
 * {@code T} and the start {@code O} of the oldest transaction still open in the database (pg_stat_activity.xact_start,
 * with or without an xid: one that has not written yet will write with its old start time), and only then reads. Take
 * any row version the read did not see: its transaction had not committed when the read's snapshot was taken, so at
 * the moment {@code T} was taken it was either open (so its {@code updated_at >= O}) or not yet started (so its
 * {@code updated_at > T}). The next watermark is {@code min(O, T - safetyLag)}, so that row is {@code >=} it and the next
 * poll reads it. Rows the read did see need no second read; re-reads (ties, overlapping polls) are harmless because
 * ClickHouse keeps one row per key, the one with the highest version.
 *
 * <p>This is deliberately not bounded by the highest {@code updated_at} read: once {@code O} and {@code T} have moved
 * past a bulk load's timestamp, re-reading its 100k rows on every poll until some other change happens buys nothing.
 * The safety lag covers what the argument above takes for granted: a transaction that has begun but whose xact_start
 * is not yet visible in pg_stat_activity (a window of microseconds) and small backward steps of the server clock.
 * The watermark never moves backwards.
 */
public final class ReplicationWatermark {
    private ReplicationWatermark() {
    }

    /**
     * @param current          the watermark the poll read from (epoch µs)
     * @param oldestOpenXact   xact_start of the oldest other open transaction in the database, if any (epoch µs)
     * @param serverNow        PostgreSQL's clock_timestamp() taken before the read (epoch µs)
     * @param safetyLagMicros  how far behind {@code serverNow} the watermark stays at least
     * @return the watermark of the next poll
     */
    public static long advance(long current, OptionalLong oldestOpenXact, long serverNow, long safetyLagMicros) {
        long bound = serverNow - safetyLagMicros;
        if (oldestOpenXact.isPresent()) {
            bound = Math.min(bound, oldestOpenXact.getAsLong());
        }
        return Math.max(current, bound);
    }
}
