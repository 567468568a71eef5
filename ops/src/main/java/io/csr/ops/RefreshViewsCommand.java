package io.csr.ops;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;

import java.sql.SQLException;
import java.time.Duration;

/**
 * {@code csr refresh-views [--lock-wait-seconds 30]}: refreshes the PostgreSQL analytics views now, the same call the
 * gateway's schedule makes (so the two never run at once: the later one is skipped). Exit 0 refreshed, 1 failed (the
 * views keep their previous data), 3 skipped because another refresh was running.
 */
final class RefreshViewsCommand implements Main.Command {
    static final int EXIT_SKIPPED = 3;

    @Override
    public String summary() {
        return "refresh the PostgreSQL analytics views now (company dashboard, programmes, language groups, journey stages)";
    }

    @Override
    public int run(CsrConfig config, String[] args) throws Exception {
        Duration lockWait = AnalyticsViewRefresher.DEFAULT_LOCK_WAIT;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--lock-wait-seconds") && i + 1 < args.length) {
                String v = args[++i];
                try {
                    lockWait = Duration.ofSeconds(Long.parseLong(v));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--lock-wait-seconds '" + v + "' must be a whole number of seconds");
                }
            } else {
                throw new IllegalArgumentException("unknown option " + args[i] + "; usage: csr refresh-views [--lock-wait-seconds N]");
            }
        }
        PostgresSettings pg = PostgresSettings.from(config);
        AnalyticsViewRefresher.Result r;
        try {
            r = new AnalyticsViewRefresher(pg, lockWait).refresh("cli");
        } catch (SQLException e) {
            System.err.println("error [refresh-views]: " + e.getMessage() + (e.getMessage().contains("bin/csr migrate") ? ""
                    : " (PostgreSQL at " + pg.url() + ", schema " + pg.schema() + "; check POSTGRES_URL and bin/csr status)"));
            return 1;
        }
        if (r.ok()) {
            System.out.printf("    refreshed the analytics views of schema %s in %d ms; rows: %s%n", pg.schema(), r.durationMs(), r.rowCountsJson());
            return 0;
        }
        if (r.skipped()) {
            System.out.println("    skipped: " + r.error() + "; its result shows in view_refreshes (run this again afterwards for a newer one)");
            return EXIT_SKIPPED;
        }
        System.err.println("error [refresh-views]: the refresh failed after " + r.durationMs() + " ms and the views keep their previous data: "
                + r.error() + " (view_refreshes id " + r.id() + "; fix the cause and run bin/csr refresh-views again)");
        return 1;
    }
}
