package io.csr.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.StreamEntryID;

import java.nio.file.Path;
import java.time.Duration;

import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real browser: headless Chromium (Debian {@code chromium}) opens the dashboard page served by the gateway, whose
 * {@code csr-stream.js} holds an {@code EventSource}; the test drives and reads the page over the DevTools protocol.
 * It receives live events, then the server drops every stream and the browser resumes by {@code Last-Event-ID},
 * receiving the events published while it was away.
 */
class BrowserEventSourceITCase {

    @Test
    void browserReceivesLiveEventsAndResumesAfterTheServerDropsIt(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String company = "web";
            try (Chromium.Page cdp = Chromium.openLiveDashboard(profile, fx, company)) {

                StreamEntryID first = fx.publishMetric(company, "hours", 1);
                await().atMost(WAIT).until(() -> first.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                assertThat(cdp.eval("document.getElementById('m-hours') !== null")).isEqualTo("true");

                // every update the page applies from here on, in order
                assertThat(cdp.eval("(window.applied = [], (apply => window.csrStream.opts.onUpdate = (t, d, id) => {"
                        + " window.applied.push(id); apply(t, d, id); })(window.csrStream.opts.onUpdate), 'recording')")).isEqualTo("recording");
                // the server ends every stream (as on shutdown); events published meanwhile must arrive after the resume
                fx.gateway.hub().closeAllStreams("shutdown");
                await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().isEmpty());
                StreamEntryID missed1 = fx.publishMetric(company, "hours", 2);
                StreamEntryID missed2 = fx.publishMetric(company, "hours", 3);
                await().atMost(WAIT).until(() -> missed2.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                assertThat((Long) fx.gateway.metrics().company(company).toMap().get("replays")).as("the reconnect replayed by Last-Event-ID").isGreaterThanOrEqualTo(1);
                assertThat((Long) fx.gateway.metrics().company(company).toMap().get("replayedEvents")).isEqualTo(2L);
                // the card shows the newest version, i.e. both missed events were applied
                assertThat(cdp.eval("document.getElementById('m-hours').textContent")).contains("v3");
                assertThat(cdp.eval("window.applied.join(',')")).as("both missed events applied once each, in order")
                        .isEqualTo(missed1 + "," + missed2);
            }
        }
    }

    @Test
    void browserRefreshesAnExpiredTokenAndResumesWithoutLoss(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String company = "webexp";
            // the browser starts on a blank page first, so the token's life holds the dashboard's load only
            try (Chromium.Page cdp = Chromium.open(profile, "about:blank")) {
                // long enough for the page to load and go live on a loaded machine (with Chromium's start-up inside it,
                // 5 s expired before the page's /auth/me at load 25-30), short enough for the stream to end at exp soon
                String shortLived = fx.tokens.forCompany(company, Duration.ofSeconds(12));
                Chromium.showLiveDashboard(cdp, fx, company, shortLived);
                StreamEntryID first = fx.publishMetric(company, "hours", 1);
                await().atMost(WAIT).until(() -> first.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                // the app obtains a fresh token (the dashboard's getToken() reads the input field on every reconnect)
                String fresh = fx.tokens.forCompany(company, Duration.ofMinutes(5));
                cdp.eval("(document.getElementById('token').value = '" + fresh + "', 'ok')");
                // the server ends the stream at exp; the browser's own retry gets 401; csr-stream.js reconnects with the
                // fresh token and ?lastEventId, so events published in between are replayed
                await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().isEmpty());
                StreamEntryID missed = fx.publishMetric(company, "hours", 2);
                await().atMost(WAIT).until(() -> missed.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                assertThat((Long) fx.gateway.metrics().company(company).toMap().get("replayedEvents")).isEqualTo(1L);
            }
        }
    }
}
