package io.csr.gateway;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.config.ConfigKey;
import io.csr.common.postgres.PostgresSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard page's analytics section in headless Chromium: it loads the four views for the token's company when
 * the page connects, shows their figures as text (a programme name with markup stays text) and is reachable by
 * keyboard (a labelled section, a real button).
 */
class AnalyticsDashboardBrowserITCase {

    @Test
    void theAnalyticsSectionShowsTheFourViewsOfTheCompany(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "0"))) {
            String company = "webviews";
            PostgresSettings pg = PostgresSettings.from(fx.config);
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on) VALUES "
                        + "('" + company + "', 'u1', '<b>language</b>', 'de', current_date - 3), ('" + company + "', 'u2', 'mentoring', NULL, current_date - 3)");
                st.execute("INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload) VALUES "
                        + "('w1', 'metrics.sroi', '" + company + "', now() - interval '1 hour', '{\"userId\":\"u1\",\"value\":3.5}'), "
                        + "('w2', 'journey.at_risk', '" + company + "', now() - interval '1 hour', '{\"userId\":\"u2\",\"value\":true}')");
            }
            assertThat(new AnalyticsViewRefresher(pg, Duration.ofSeconds(10)).refresh("test").status()).isEqualTo("ok");

            String page = fx.base() + "/#token=" + fx.tokens.forCompany(company) + "&companyId=" + company;
            try (Chromium.Page cdp = Chromium.open(profile, page)) {
                await().atMost(WAIT).until(() -> String.valueOf(cdp.eval("document.getElementById('analytics-state').textContent")).startsWith("refreshed 20"));
                assertThat(cdp.eval("document.querySelectorAll('#a-programmes tbody tr').length")).isEqualTo("2");
                assertThat(cdp.eval("document.querySelector('#a-programmes tbody tr th').textContent")).isEqualTo("<b>language</b>");
                assertThat(cdp.eval("document.querySelectorAll('#a-programmes b').length")).as("names are text, not markup").isEqualTo("0");
                assertThat(cdp.eval("document.querySelector('#a-languages tbody').textContent")).contains("de");
                assertThat(cdp.eval("document.querySelector('#a-journeys tbody').textContent")).contains("at_risk");
                assertThat(cdp.eval("document.querySelector('#a-company tbody').textContent")).contains("sroi").contains("3.50");
                assertThat(cdp.eval("document.getElementById(document.getElementById('analytics').getAttribute('aria-labelledby')).textContent"))
                        .isEqualTo("Analytics views");
                assertThat(cdp.eval("(document.getElementById('analytics-load').focus(), document.activeElement.id)")).isEqualTo("analytics-load");
            }
        }
    }
}
