package io.csr.gateway.analytics;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The analytics views' refresh history as {@code view_refreshes} records it, whoever refreshed (this gateway's
 * schedule, another node, {@code csr refresh-views}, SQL): the last successful refresh and the last attempt.
 */
public final class AnalyticsRefreshStatus {
    private static final String LAST_OK = "SELECT finished_at FROM view_refreshes WHERE status = 'ok' ORDER BY id DESC LIMIT 1";
    private static final String LAST_ATTEMPT = "SELECT status, finished_at, error FROM view_refreshes ORDER BY id DESC LIMIT 1";

    private final PostgresSettings postgres;

    public AnalyticsRefreshStatus(PostgresSettings postgres) {
        this.postgres = postgres;
    }

    public Optional<Instant> lastSuccessfulRefresh() throws SQLException {
        try (Connection c = postgres.connect()) {
            return lastSuccessfulRefresh(c);
        }
    }

    /** On the caller's connection, so a reader in a repeatable-read transaction gets the refresh its rows came from. */
    static Optional<Instant> lastSuccessfulRefresh(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(LAST_OK); ResultSet rs = st.executeQuery()) {
            return rs.next() ? Optional.of(rs.getTimestamp(1).toInstant()) : Optional.empty();
        }
    }

    /**
     * For {@code /health}: {@code status} UP when the last attempt succeeded, DOWN when it failed ({@code error}
     * names why; the views still serve the previous data, {@code lastRefreshAt} says from when).
     */
    public Map<String, Object> healthReport() {
        long t0 = System.nanoTime();
        Map<String, Object> m = new LinkedHashMap<>();
        try (Connection c = postgres.connect();
             PreparedStatement st = c.prepareStatement(LAST_ATTEMPT);
             ResultSet rs = st.executeQuery()) {
            Optional<Instant> lastOk = lastSuccessfulRefresh(c);
            if (rs.next() && "failed".equals(rs.getString(1))) {
                m.put("status", "DOWN");
                m.put("error", "the last refresh of the analytics views (" + rs.getTimestamp(2).toInstant() + ") failed: " + rs.getString(3)
                        + "; the views keep the data of " + lastOk.map(Instant::toString).orElse("their creation")
                        + " (retry: bin/csr refresh-views)");
            } else {
                m.put("status", "UP");
            }
            m.put("lastRefreshAt", lastOk.map(Instant::toString).orElse(null));
        } catch (SQLException | RuntimeException e) {
            m.put("status", "DOWN");
            m.put("error", "cannot read view_refreshes: " + e.getMessage() + " (check POSTGRES_URL; bin/csr migrate)");
            m.put("lastRefreshAt", null);
        }
        m.put("latencyMs", Math.round((System.nanoTime() - t0) / 10_000.0) / 100.0);
        return m;
    }

    static String iso(Timestamp t) {
        return t == null ? null : t.toInstant().toString();
    }
}
