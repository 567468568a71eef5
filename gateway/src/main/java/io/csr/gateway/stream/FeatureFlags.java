package io.csr.gateway.stream;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * Per-company switches from PostgreSQL {@code feature_flags (company_id, flag, enabled)}; flag {@code streaming}
 * turns /stream/updates off for one company. Cached and reloaded at most every {@code FEATURE_FLAG_REFRESH_SECONDS}
 * by the request that finds the cache stale (others keep using the previous copy). A company without a row is
 * enabled; when PostgreSQL cannot be read the last loaded flags stay in force (fail-open before the first load).
 */
public final class FeatureFlags implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FeatureFlags.class.getName());
    public static final String STREAMING = "streaming";

    private final DataSource pg;
    private final Duration refresh;
    private final Clock clock;
    private final ReentrantLock loading = new ReentrantLock();
    private volatile Set<String> streamingOff = Set.of();
    private volatile Instant loadedAt = Instant.EPOCH;

    public FeatureFlags(DataSource pg, Duration refresh, Clock clock) {
        this.pg = pg;
        this.refresh = refresh;
        this.clock = clock;
    }

    public boolean streamingEnabled(String companyId) {
        refreshIfStale();
        return !streamingOff.contains(companyId);
    }

    private void refreshIfStale() {
        if (clock.instant().isBefore(loadedAt.plus(refresh))) {
            return;
        }
        boolean first = loadedAt.equals(Instant.EPOCH);
        if (first ? !lockQuietly() : !loading.tryLock()) {
            return;
        }
        try {
            if (clock.instant().isBefore(loadedAt.plus(refresh))) {
                return;
            }
            streamingOff = load();
        } catch (SQLException | RuntimeException e) {
            LOG.warning("cannot read feature_flags from PostgreSQL (" + e.getMessage()
                    + "); keeping the previous flags for " + refresh.toSeconds() + " s (check POSTGRES_URL / bin/csr status)");
        } finally {
            loadedAt = clock.instant();
            loading.unlock();
        }
    }

    private boolean lockQuietly() {
        loading.lock();
        return true;
    }

    private Set<String> load() throws SQLException {
        Set<String> off = new HashSet<>();
        try (Connection conn = pg.getConnection(); PreparedStatement st = conn.prepareStatement("SELECT company_id FROM feature_flags WHERE flag = ? AND NOT enabled")) {
            st.setString(1, STREAMING);
            st.setQueryTimeout(5);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    off.add(rs.getString(1));
                }
            }
        }
        return Set.copyOf(off);
    }

    /** Latency of {@code SELECT 1} for /health, in ms, on a pooled connection; throws when PostgreSQL is unreachable. */
    public long ping() throws SQLException {
        long t0 = System.nanoTime();
        try (Connection c = pg.getConnection(); PreparedStatement st = c.prepareStatement("SELECT 1")) {
            st.setQueryTimeout(3);
            st.executeQuery().close();
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** Nothing to close: connections are borrowed from the gateway's pool per load. */
    @Override
    public void close() {
    }
}
