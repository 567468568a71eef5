package io.csr.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.StreamEntryID;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Headless Chromium on the gateway's own pages with hostile text where the pages show data: a forged token whose
 * "company" is markup, and a journey event whose {@code userId} is markup. Script must not run (the payloads set a
 * global that must stay unset) and the event's text must show literally; the pages carry no inline script, the
 * dashboard's own requests carry no token in their URLs, and it still shows live updates.
 */
class DashboardInjectionBrowserITCase {
    private static final String FORGED_COMPANY = "acme\"><img src=x onerror=\"window.__pwned='token'\">";
    private static final String MARKUP_USER = "<img src=x onerror=\"window.__pwned='event'\"><b>u1</b>";

    @Test
    void aForgedTokensCompanyNeverReachesThePage(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String forged = TestTokens.mintWith("a-secret-the-gateway-does-not-know-0123456789", "mallory", List.of(FORGED_COMPANY),
                    List.of(), Instant.now().plus(Duration.ofHours(1)));
            for (String page : List.of(fx.base() + "/#token=" + forged, fx.base() + "/cohorts.html#token=" + forged)) {
                Files.createDirectories(profile.resolve(String.valueOf(page.hashCode())));
                try (Chromium.Page cdp = Chromium.open(profile.resolve(String.valueOf(page.hashCode())), page)) {
                    // the page asked the server, which refused the token; the refusal is shown as text
                    await().atMost(WAIT).until(() -> cdp.eval("document.body.textContent").contains("token refused"));
                    assertThat(cdp.eval("typeof window.__pwned")).as("script of the forged claim ran on " + page).isEqualTo("undefined");
                    assertThat(cdp.eval("document.querySelectorAll('img').length")).isEqualTo("0");
                    assertThat(cdp.eval("document.getElementById('company').options.length")).as("no company from unverified claims").isEqualTo("0");
                    assertThat(cdp.eval("location.href")).as("the token left the address bar").doesNotContain("token=");
                    assertThat(cdp.eval("document.querySelectorAll('script:not([src])').length")).as("no inline script").isEqualTo("0");
                }
            }
        }
    }

    @Test
    void anEventsMarkupShowsAsTextAndTheDashboardStaysLive(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String company = "xss";
            try (Chromium.Page cdp = Chromium.openLiveDashboard(profile, fx, company)) {
                assertThat(cdp.eval("document.getElementById('company').value")).as("the company the server verified").isEqualTo(company);
                fx.xadd(company, "journey_flag_updated", "{\"companyId\":\"" + company + "\",\"flag\":\"onboarded\",\"usersFlagged\":1,"
                        + "\"userId\":" + io.csr.common.json.Json.mapper().writeValueAsString(MARKUP_USER)
                        + ",\"value\":true,\"occurredAt\":\"2026-11-27T10:00:00Z\",\"version\":1}");
                StreamEntryID metric = fx.publishMetric(company, "hours", 1);
                // the metric was published after the journey event: once it shows, the journey card was painted
                await().atMost(WAIT).until(() -> metric.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                assertThat(cdp.eval("document.getElementById('m-hours') !== null")).as("live updates still shown").isEqualTo("true");
                assertThat(cdp.eval("document.getElementById('j-onboarded').textContent")).contains(MARKUP_USER + " → true");
                assertThat(cdp.eval("document.querySelectorAll('#cards img, #cards b').length")).as("the userId is text, not markup").isEqualTo("0");
                assertThat(cdp.eval("typeof window.__pwned")).as("the event's script ran").isEqualTo("undefined");
                // the Content-Security-Policy is in force in the browser too: markup that did reach the DOM could not run
                cdp.eval("(window.__violations = [], document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective)),"
                        + " document.body.insertAdjacentHTML('beforeend', '<img src=\"data:,x\" onerror=\"window.__pwned=1\">'), 'ok')");
                // the image is refused (img-src), so its error handler would run: the inline handler is refused (script-src)
                await().atMost(WAIT).until(() -> cdp.eval("window.__violations.join(' ')").contains("script-src"));
                assertThat(cdp.eval("typeof window.__pwned")).as("an inline handler ran despite the CSP").isEqualTo("undefined");
                assertThat(cdp.eval("location.href")).doesNotContain("token=");
                assertThat(cdp.eval("performance.getEntriesByType('resource').map(e => e.name).filter(u => /token/.test(u)).join(' ')"))
                        .as("no request of the page carries the token in its URL").isEmpty();
            }
        }
    }
}
