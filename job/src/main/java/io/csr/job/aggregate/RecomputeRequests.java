package io.csr.job.aggregate;

import io.csr.job.rows.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;

/**
 * Rows of {@code window_recomputes}: a request, written by the window operator, that the windows of one (company,
 * metric, size) starting in [from, to) be recomputed from {@code metrics_timeseries FINAL} once the checkpoint that
 * holds the request (and every row of the key before it) is committed ({@code correction.WindowRecompute}). Kept as
 * an audit trail: which windows were recomputed, and why.
 */
public final class RecomputeRequests {
    public static final String TABLE = "window_recomputes";
    /** A firing of a window that a backfill recomputed: its figures come from the recomputation, not from state. */
    public static final String FIRING = "backfilled-window";
    /** A backfill's notice reached the live job: every window of its span is recomputed once more. */
    public static final String NOTICE = "backfill-notice";
    /**
     * A day this key's window state held when it was restored from a savepoint older than per-user days: its user
     * days are recomputed (issue 25), the day window with them (harmless: the same figures, exact).
     */
    public static final String USER_DAYS = "user-days-upgrade";

    private RecomputeRequests() {
    }

    public static TableRow row(String companyId, String metric, WindowSize size, long fromMs, long toMs, boolean isFinal,
                               boolean publish, String reason, long requestedAtMs) {
        return RowFormat.row(TABLE, fromMs, RowFormat.object()
                .put("company_id", companyId)
                .put("metric", metric)
                .put("window_size", size.label())
                .put("from_ts", RowFormat.dateTime(fromMs))
                .put("to_ts", RowFormat.dateTime(toMs))
                .put("final", isFinal ? 1 : 0)
                .put("publish", publish ? 1 : 0)
                .put("reason", reason)
                .put("requested_at", RowFormat.dateTime(requestedAtMs)));
    }
}
