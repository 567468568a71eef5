package io.csr.gateway.analytics;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.config.ConfigKey;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.TestQueries;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The gateway refreshes the views itself every ANALYTICS_REFRESH_SECONDS, recorded with trigger {@code schedule}. */
class AnalyticsRefreshScheduleITCase {
    @Test
    void theGatewayRefreshesOnItsSchedule() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "1"))) {
            AnalyticsSeed seed = new AnalyticsSeed(PostgresSettings.from(fx.config));
            seed.participant("acme", "u1", "language", "de", 3, null, null);
            await().atMost(Duration.ofSeconds(30)).until(() -> scheduledRefreshes(seed) >= 2);
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                try (Connection c = seed.pg.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT participants FROM company_dashboard_mv WHERE company_id = 'acme'")) {
                    return rs.next() && rs.getLong(1) == 1;
                }
            });
        }
    }

    /** What N nodes' schedules rely on: a refresh within the interval of the last one (any caller's) is skipped. */
    @Test
    void aScheduledRefreshWithinTheIntervalOfTheLastOneIsSkippedAManualOneIsNot() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "0"))) {
            PostgresSettings pg = PostgresSettings.from(fx.config);
            AnalyticsViewRefresher nodeA = new AnalyticsViewRefresher(pg, AnalyticsViewRefresher.DEFAULT_LOCK_WAIT);
            AnalyticsViewRefresher nodeB = new AnalyticsViewRefresher(pg, AnalyticsViewRefresher.DEFAULT_LOCK_WAIT);
            Duration interval = Duration.ofSeconds(30);
            assertThat(nodeA.refresh("schedule", interval).ok()).as("the first since the migration").isTrue();
            AnalyticsViewRefresher.Result b = nodeB.refresh("schedule", interval);
            assertThat(b.skipped()).as("another node's turn within the interval: %s", b.error()).isTrue();
            assertThat(b.error()).contains("less than 30000 ms ago");
            assertThat(nodeA.refresh("schedule", interval).skipped()).isTrue();
            assertThat(nodeB.refresh("manual").ok()).as("csr refresh-views and SQL callers pass no interval").isTrue();
            assertThat(nodeA.refresh("schedule", Duration.ofMillis(1)).ok()).as("an interval already past").isTrue();
        }
    }

    private static long scheduledRefreshes(AnalyticsSeed seed) throws Exception {
        try (Connection c = seed.pg.connect()) {
            return TestQueries.queryLong(c, "SELECT count(*) FROM view_refreshes WHERE trigger = 'schedule' AND status = 'ok'");
        }
    }
}
