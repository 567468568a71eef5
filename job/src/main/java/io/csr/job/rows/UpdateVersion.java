package io.csr.job.rows;

/**
 * The {@code version} of what the job publishes per window (and per journey flag): {@code major · 2^20 + tag}.
 *
 * <p>The <b>major</b> orders values: for a window 2·count + final, so a value that counted more events always
 * supersedes one that counted fewer and a dashboard that keeps the highest version never shows a lower count again.
 * The <b>tag</b> tells apart values of the same major: for a firing from the operator's state, the time of the
 * firing in {@link #TICK_MS} ticks modulo {@link #RECOMPUTED} (2^20 − 1 ticks, 29.1 hours); for a recomputation from
 * ClickHouse's rows, {@link #RECOMPUTED}.
 *
 * <p>Why a tag at all: after a restore the job replays the stream from its checkpoint, and the replay can reach a
 * window's count with other events than the run that died (a key's events come through several channels, whose
 * interleaving differs from run to run, and the stream may hold events the dead run never read). A version of the
 * count alone was then published twice with two different sums. With the tag, the successor's firings carry later
 * times than anything its predecessor published (it runs only after the predecessor died, at least the restart delay
 * later), so they get other versions and, at the same count, higher ones: a dashboard switches to the value that the
 * successor commits to ClickHouse, and one version stands for one value. Two firings of different runs share a
 * version only if they lie an exact multiple of 29.1 hours apart, to the tick; a later firing loses a tie at the same
 * count only if such a multiple lies between the two (about 1 in 10,000 for a restore taking 10 s). A recomputation
 * counts the rows stored in ClickHouse, which are only ever added to, so the same major means the same rows and the
 * same figures, and its tag is above every firing's.
 *
 * <p>Within one run versions strictly increase per window: a firing whose version would not be above the last one
 * (the same major in an earlier tick, after the tag wrapped, or state written with the older numbering 2·count +
 * final) takes the next major. Versions stay below 2^53, exact in a browser's JavaScript numbers, while a major stays
 * below 2^33: up to 4.29 billion events per window.
 */
public final class UpdateVersion {
    public static final int TAG_BITS = 20;
    /** The tag of a recomputation from ClickHouse rows: above every firing's. */
    public static final long RECOMPUTED = (1L << TAG_BITS) - 1;
    /** Length of one tag step: restores are always further apart than this (JOB_RESTART_DELAY_MS, a process start). */
    public static final long TICK_MS = 100;

    private UpdateVersion() {
    }

    /** The version of {@code major} with {@code tag}. */
    public static long of(long major, long tag) {
        if (major < 0 || tag < 0 || tag > RECOMPUTED) {
            throw new IllegalArgumentException("version of major " + major + " and tag " + tag + " (major >= 0, 0 <= tag <= " + RECOMPUTED + ")");
        }
        return (major << TAG_BITS) | tag;
    }

    public static long major(long version) {
        return version >>> TAG_BITS;
    }

    public static long tag(long version) {
        return version & RECOMPUTED;
    }

    /** The tag of a firing at processing time {@code nowMs}: its tick, modulo {@link #RECOMPUTED}. */
    public static long firingTag(long nowMs) {
        return Math.floorMod(Math.floorDiv(nowMs, TICK_MS), RECOMPUTED);
    }

    /**
     * A firing's version: {@code major} with the firing's tag, or, when that is not above {@code last} (the last
     * version this window or flag published; 0 for none), the next major after {@code last}'s with the same tag.
     */
    public static long next(long last, long major, long nowMs) {
        long tag = firingTag(nowMs);
        long v = of(major, tag);
        return v > last ? v : of(major(last) + 1, tag);
    }

    /** A recomputation's version: the same major always carries the same figures. */
    public static long recomputed(long major) {
        return of(major, RECOMPUTED);
    }

    /** {@link #recomputed} in ClickHouse SQL, of an integer expression {@code major} (e.g. {@code 2 * count + 1}). */
    public static String recomputedSql(String major) {
        return "((" + major + ") * " + (1L << TAG_BITS) + " + " + RECOMPUTED + ")";
    }
}
