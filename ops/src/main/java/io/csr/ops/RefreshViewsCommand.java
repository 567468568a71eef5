package io.csr.ops;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.cli.CsrCommand;
import io.csr.common.postgres.PostgresSettings;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.sql.SQLException;
import java.time.Duration;

/**
 * {@code csr refresh-views [--lock-wait-seconds 30]}: refreshes the PostgreSQL analytics views now, the same call the
 * gateway's schedule makes (so the two never run at once: the later one is skipped). Exit 0 refreshed, 1 failed (the
 * views keep their previous data), 3 skipped because another refresh was running.
 */
@Command(name = "refresh-views", mixinStandardHelpOptions = true,
        description = {"Refresh the PostgreSQL analytics views now (docs/analytics.md).",
                "The gateway does it every ANALYTICS_REFRESH_SECONDS. Exit 0 refreshed, 1 failed (the views keep "
                + "their data), 3 skipped: another refresh was running."})
final class RefreshViewsCommand extends CsrCommand {
    static final int EXIT_SKIPPED = 3;

    @Option(names = "--lock-wait-seconds", paramLabel = "N", description = "how long to wait for the refresh lock (default: the refresher's)")
    Long lockWaitSeconds;

    @Override
    public Integer call() throws Exception {
        if (lockWaitSeconds != null && lockWaitSeconds < 0) {
            throw usage("--lock-wait-seconds " + lockWaitSeconds + " is negative; give 0 or more seconds");
        }
        Duration lockWait = lockWaitSeconds == null ? AnalyticsViewRefresher.DEFAULT_LOCK_WAIT : Duration.ofSeconds(lockWaitSeconds);
        PostgresSettings pg = PostgresSettings.from(config());
        AnalyticsViewRefresher.Result r;
        try {
            r = new AnalyticsViewRefresher(pg, lockWait).refresh("cli");
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage() + (e.getMessage().contains("bin/csr migrate") ? ""
                    : " (PostgreSQL at " + pg.url() + ", schema " + pg.schema() + "; check POSTGRES_URL and bin/csr status)"), e);
        }
        if (r.ok()) {
            System.out.printf("    refreshed the analytics views of schema %s in %d ms; rows: %s%n", pg.schema(), r.durationMs(), r.rowCountsJson());
            return 0;
        }
        if (r.skipped()) {
            System.out.println("    skipped: " + r.error() + "; its result shows in view_refreshes (run this again afterwards for a newer one)");
            return EXIT_SKIPPED;
        }
        throw new IllegalStateException("the refresh failed after " + r.durationMs() + " ms and the views keep their previous data: "
                + r.error() + " (view_refreshes id " + r.id() + "; fix the cause and run bin/csr refresh-views again)");
    }
}
