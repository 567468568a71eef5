package io.csr.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.StreamEntryID;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real browser: headless Chromium (Debian {@code chromium}) opens the dashboard page served by the gateway, whose
 * {@code csr-stream.js} holds an {@code EventSource}; the test drives and reads the page over the DevTools protocol.
 * It receives live events, then the server drops every stream and the browser resumes by {@code Last-Event-ID},
 * receiving the events published while it was away.
 */
class BrowserEventSourceITCase {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void browserReceivesLiveEventsAndResumesAfterTheServerDropsIt(@TempDir Path profile) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "Debian chromium is not installed (apt-get install -y chromium)");
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String company = "web";
            String page = fx.base() + "/?token=" + fx.tokens.forCompany(company) + "&companyId=" + company;
            Process chrome = startChromium(profile, page);
            try (Cdp cdp = Cdp.connect(profile, page)) {
                await().atMost(WAIT).until(() -> "live".equals(cdp.eval("document.getElementById('state').textContent")));

                StreamEntryID first = fx.publishMetric(company, "hours", 1);
                await().atMost(WAIT).until(() -> first.toString().equals(cdp.eval("window.csrStream.lastEventId")));
                assertThat(cdp.eval("document.getElementById('m-hours') !== null")).isEqualTo("true");

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
                assertThat(missed1).isNotNull();
            } finally {
                stop(chrome);
            }
        }
    }

    @Test
    void browserRefreshesAnExpiredTokenAndResumesWithoutLoss(@TempDir Path profile) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "Debian chromium is not installed (apt-get install -y chromium)");
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            String company = "webexp";
            String shortLived = fx.tokens.forCompany(company, Duration.ofSeconds(5));
            String page = fx.base() + "/?token=" + shortLived + "&companyId=" + company;
            Process chrome = startChromium(profile, page);
            try (Cdp cdp = Cdp.connect(profile, page)) {
                await().atMost(WAIT).until(() -> "live".equals(cdp.eval("document.getElementById('state').textContent")));
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
            } finally {
                stop(chrome);
            }
        }
    }

    static Process startChromium(Path profile, String page) throws Exception {
        return new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--remote-allow-origins=*", "--remote-debugging-port=0", "--user-data-dir=" + profile, page)
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
    }

    static void stop(Process chrome) throws InterruptedException {
        chrome.destroy();
        if (!chrome.waitFor(10, TimeUnit.SECONDS)) {
            chrome.destroyForcibly();
        }
    }

    /** Just enough of the Chrome DevTools protocol: find the page target, Runtime.evaluate returning strings. */
    static final class Cdp implements AutoCloseable {
        private final WebSocket ws;
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();

        private Cdp(WebSocket ws) {
            this.ws = ws;
        }

        static Cdp connect(Path profile, String pageUrl) throws Exception {
            Path portFile = profile.resolve("DevToolsActivePort");
            await().atMost(WAIT).until(() -> Files.exists(portFile) && Files.readAllLines(portFile).size() >= 1);
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            HttpClient http = HttpClient.newHttpClient();
            String[] wsUrl = new String[1];
            await().atMost(WAIT).until(() -> {
                String json = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                for (JsonNode t : Json.mapper().readTree(json)) {
                    if ("page".equals(t.path("type").asText()) && t.path("url").asText().startsWith(pageUrl.substring(0, pageUrl.indexOf('?')))) {
                        wsUrl[0] = t.path("webSocketDebuggerUrl").asText();
                        return true;
                    }
                }
                return false;
            });
            Cdp[] self = new Cdp[1];
            StringBuilder partial = new StringBuilder();
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(wsUrl[0]), new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                        try {
                            JsonNode msg = Json.mapper().readTree(partial.toString());
                            if (msg.has("id") && self[0] != null) {
                                CompletableFuture<JsonNode> f = self[0].pending.remove(msg.get("id").asInt());
                                if (f != null) {
                                    f.complete(msg);
                                }
                            }
                        } catch (Exception ignored) {
                            // not for us
                        }
                        partial.setLength(0);
                    }
                    w.request(1);
                    return null;
                }
            }).get(10, TimeUnit.SECONDS);
            self[0] = new Cdp(ws);
            return self[0];
        }

        /** Evaluates a JS expression in the page; its value as a string ("null" when null/undefined). */
        String eval(String expression) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            ObjectNode cmd = Json.mapper().createObjectNode().put("id", id).put("method", "Runtime.evaluate");
            cmd.putObject("params").put("expression", "String((() => { try { return " + expression + "; } catch (e) { return null; } })())")
                    .put("returnByValue", true);
            ws.sendText(Json.mapper().writeValueAsString(cmd), true).get(5, TimeUnit.SECONDS);
            JsonNode res = f.get(10, TimeUnit.SECONDS);
            return res.path("result").path("result").path("value").asText("null");
        }

        @Override
        public void close() {
            ws.abort();
        }
    }

}
