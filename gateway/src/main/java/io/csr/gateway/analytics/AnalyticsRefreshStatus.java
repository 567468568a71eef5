package io.csr.gateway.analytics;


import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The analytics views' refresh history as {@code view_refreshes} records it, whoever refreshed (this gateway's
 * schedule, another node, {@code csr refresh-views}, SQL): the last successful refresh and the last attempt.
 */
public final class AnalyticsRefreshStatus {
    private static final Logger LOG = Logger.getLogger(AnalyticsRefreshStatus.class.getName());
    private static final String LAST_OK = "SELECT finished_at FROM view_refreshes WHERE status = 'ok' ORDER BY id DESC LIMIT 1";
    private static final String LAST_ATTEMPT = "SELECT status, finished_at FROM view_refreshes ORDER BY id DESC LIMIT 1";

    private final DataSource postgres;

    public AnalyticsRefreshStatus(DataSource postgres) {
        this.postgres = postgres;
    }

    public Optional<Instant> lastSuccessfulRefresh() throws SQLException {
        try (Connection c = postgres.getConnection()) {
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
        try (Connection c = postgres.getConnection();
             PreparedStatement st = c.prepareStatement(LAST_ATTEMPT);
             ResultSet rs = st.executeQuery()) {
            Optional<Instant> lastOk = lastSuccessfulRefresh(c);
            if (rs.next() && "failed".equals(rs.getString(1))) {
                m.put("status", "DOWN");
                // not PostgreSQL's text (/health is open to everyone): the cause stays in view_refreshes.error
                m.put("error", "the last refresh of the analytics views (" + rs.getTimestamp(2).toInstant() + ") failed"
                        + "; the views keep the data of " + lastOk.map(Instant::toString).orElse("their creation")
                        + " (the cause: SELECT error FROM view_refreshes ORDER BY id DESC LIMIT 1; retry: bin/csr refresh-views)");
            } else {
                m.put("status", "UP");
            }
            m.put("lastRefreshAt", lastOk.map(Instant::toString).orElse(null));
        } catch (SQLException | RuntimeException e) {
            m.put("status", "DOWN");
            LOG.log(Level.WARNING, "cannot read view_refreshes for /health", e);
            m.put("error", "cannot read view_refreshes (details in the gateway log; check POSTGRES_URL, bin/csr migrate)");
            m.put("lastRefreshAt", null);
        }
        m.put("latencyMs", Math.round((System.nanoTime() - t0) / 10_000.0) / 100.0);
        return m;
    }

    static String iso(Timestamp t) {
        return t == null ? null : t.toInstant().toString();
    }
}
