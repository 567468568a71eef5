package io.csr.gateway.analytics;

import io.csr.common.analytics.AnalyticsViewRefresher;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The one place that refreshes the analytics views on a schedule: every {@code ANALYTICS_REFRESH_SECONDS}, on one
 * daemon thread of each gateway node. Several nodes (and {@code csr refresh-views}) may fire at once; the SQL
 * function's advisory lock lets one refresh and the others skip, and under that lock a node whose turn comes less than
 * an interval after the last recorded refresh (any node's) skips too: N nodes refresh once per interval, not N times. The first run comes one interval after the last
 * recorded successful refresh (at once when that is older), so a restart does not refresh twice in a row.
 */
public final class AnalyticsRefreshSchedule implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AnalyticsRefreshSchedule.class.getName());
    static final String TRIGGER = "schedule";

    private final AnalyticsViewRefresher refresher;
    private final AnalyticsRefreshStatus status;
    private final Duration interval;
    private final Clock clock;
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("csr-analytics-refresh").factory());

    public AnalyticsRefreshSchedule(AnalyticsViewRefresher refresher, AnalyticsRefreshStatus status, Duration interval, Clock clock) {
        if (interval.isZero() || interval.isNegative()) {
            throw new IllegalArgumentException("ANALYTICS_REFRESH_SECONDS must be positive to schedule refreshes (it was "
                    + interval.toSeconds() + "); 0 means no schedule: do not start one");
        }
        this.refresher = refresher;
        this.status = status;
        this.interval = interval;
        this.clock = clock;
    }

    public AnalyticsRefreshSchedule start() {
        long firstDelay = interval.toMillis();
        try {
            Optional<Instant> last = status.lastSuccessfulRefresh();
            if (last.isPresent()) {
                firstDelay = Math.max(0, Duration.between(clock.instant(), last.get().plus(interval)).toMillis());
            } else {
                firstDelay = 0;
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warning("cannot read view_refreshes (" + e.getMessage() + "); first analytics refresh in " + interval.toSeconds() + " s");
        }
        executor.scheduleWithFixedDelay(this::runOnce, firstDelay, interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void runOnce() {
        try {
            AnalyticsViewRefresher.Result r = refresher.refresh(TRIGGER, interval);
            if (r.failed()) {
                LOG.warning("analytics views refresh failed after " + r.durationMs() + " ms, the views keep their previous data: "
                        + r.error() + " (see view_refreshes; /health shows it until a refresh succeeds)");
            } else if (r.skipped()) {
                LOG.fine("analytics views refresh skipped: " + r.error());
            } else if (r.ok()) {
                LOG.fine("analytics views refreshed in " + r.durationMs() + " ms: " + r.rowCountsJson());
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warning("analytics views refresh could not run: " + e.getMessage() + " (check POSTGRES_URL / bin/csr status); next try in "
                    + interval.toSeconds() + " s");
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
