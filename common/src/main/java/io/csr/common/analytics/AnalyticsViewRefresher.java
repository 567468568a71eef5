package io.csr.common.analytics;

import io.csr.common.postgres.PostgresSettings;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;

/**
 * Runs PostgreSQL's {@code refresh_analytics_materialized_views()} (sql/postgres/005): the facts view, then the four
 * served views {@code CONCURRENTLY}, in one transaction, recorded in {@code view_refreshes}. The function itself takes
 * the schema's advisory lock ({@code pg_try_advisory_xact_lock}), so the gateway's schedule, {@code csr refresh-views}
 * and a SQL cron can all call it and never refresh at once: the loser gets {@link Result#skipped()}. A schedule passes
 * its interval ({@link #refresh(String, Duration)}) and skips when another process refreshed within it.
 * Shared by the gateway (schedule) and ops ({@code csr refresh-views}) so neither restates the call.
 */
public final class AnalyticsViewRefresher {
    /** Default bound on waiting for a table lock someone else holds on a view (then the refresh fails, data stays). */
    public static final Duration DEFAULT_LOCK_WAIT = Duration.ofSeconds(30);

    private final PostgresSettings postgres;
    private final DataSource pool; // null: a new connection per refresh (the CLI)
    private final Duration lockWait;

    public AnalyticsViewRefresher(PostgresSettings postgres, Duration lockWait) {
        this(postgres, null, lockWait);
    }

    /** Refreshes on connections of {@code pool} (a process that has one); {@code postgres} names the database in errors. */
    public AnalyticsViewRefresher(PostgresSettings postgres, DataSource pool, Duration lockWait) {
        if (lockWait.isNegative() || lockWait.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("lock wait " + lockWait + " must be between 0 and " + Integer.MAX_VALUE + " ms");
        }
        this.postgres = postgres;
        this.pool = pool;
        this.lockWait = lockWait;
    }

    /**
     * One refresh attempt. A failure inside PostgreSQL (lock timeout, bad data, …) comes back as status {@code failed}
     * with the error, the previous data still served; only when PostgreSQL cannot be reached at all does this throw.
     */
    public Result refresh(String trigger) throws SQLException {
        return refresh(trigger, Duration.ZERO);
    }

    /**
     * One refresh attempt unless the newest refresh recorded in {@code view_refreshes} (by any process) started less
     * than {@code minInterval} ago: then {@link Result#skipped()}, decided under the function's lock
     * (sql/postgres/010), so N schedules of that interval refresh once per interval between them.
     */
    public Result refresh(String trigger, Duration minInterval) throws SQLException {
        if (minInterval.isNegative() || minInterval.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("minimum interval " + minInterval + " must be between 0 and " + Integer.MAX_VALUE + " ms");
        }
        try (Connection c = pool == null ? postgres.connect() : pool.getConnection();
             PreparedStatement st = c.prepareStatement(
                     "SELECT id, status, started_at, duration_ms, row_counts::text, error FROM refresh_analytics_materialized_views(?, ?, ?)")) {
            st.setString(1, trigger);
            st.setInt(2, (int) lockWait.toMillis());
            st.setInt(3, (int) minInterval.toMillis());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("refresh_analytics_materialized_views() returned no row");
                }
                long id = rs.getLong(1);
                return new Result(rs.wasNull() ? null : id, rs.getString(2), rs.getTimestamp(3).toInstant(), rs.getLong(4),
                        rs.getString(5), rs.getString(6));
            }
        } catch (SQLException e) {
            if ("42883".equals(e.getSQLState())) { // undefined_function
                throw new SQLException("refresh_analytics_materialized_views() does not exist in schema " + postgres.schema()
                        + " at " + postgres.url() + "; apply the migrations first (bin/csr migrate)", e.getSQLState(), e);
            }
            throw e;
        }
    }

    /**
     * What one call did: {@code ok} (row counts per view as JSON), {@code failed} (error; the views keep the previous
     * data) or {@code skipped} (another refresh of the same schema was running; nothing recorded, id null).
     */
    public record Result(Long id, String status, Instant startedAt, long durationMs, String rowCountsJson, String error) {
        public boolean ok() {
            return "ok".equals(status);
        }

        public boolean skipped() {
            return "skipped".equals(status);
        }

        public boolean failed() {
            return "failed".equals(status);
        }
    }
}
