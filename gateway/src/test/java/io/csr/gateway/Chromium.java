package io.csr.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.json.Json;

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

/**
 * Debian's headless Chromium, which the browser ITCases drive. It is a prerequisite like the services: when it is
 * missing the test fails and says how to install it — it never skips, so a build without a browser cannot pass green
 * (bin/csr test installs it). The browser tests start it on a page with {@link #open} (which checks it is there, so
 * a test needs no check of its own) and read the page over the DevTools protocol.
 */
public final class Chromium {
    public static final Path BINARY = Path.of("/usr/bin/chromium");
    /** How long a browser test waits for a page to show what it expects (a loaded 2-core machine starts Chromium slowly). */
    public static final Duration WAIT = Duration.ofSeconds(30);

    private Chromium() {
    }

    /** The browser's path; fails the calling test with the install command when it is not there. */
    public static Path require() {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is not installed: run `apt-get install -y chromium` (as root; bin/csr test "
                    + "does it), then run the tests again. The browser tests fail rather than skip without it.");
        }
        return BINARY;
    }

    /** A browser on one page and the DevTools connection to it: {@link #close()} ends both. */
    public static final class Page implements AutoCloseable {
        private final Process process;
        private final Cdp cdp;

        private Page(Process process, Cdp cdp) {
            this.process = process;
            this.cdp = cdp;
        }

        /** Evaluates a JS expression in the page; its value as a string ("null" when null/undefined). */
        public String eval(String expression) throws Exception {
            return cdp.eval(expression);
        }

        @Override
        public void close() throws InterruptedException {
            try {
                cdp.close();
            } finally {
                stop(process);
            }
        }
    }

    /** The browser started on {@code page} (own {@code profile}) and connected to over DevTools. */
    public static Page open(Path profile, String page) throws Exception {
        Process process = start(profile, page);
        try {
            return new Page(process, Cdp.connect(profile, page));
        } catch (Exception | Error e) {
            stop(process);
            throw e;
        }
    }

    /** The live dashboard ({@code /}) of {@code company} as one of its viewers, once its stream says it is live. */
    public static Page openLiveDashboard(Path profile, GatewayFixture fx, String company) throws Exception {
        return openLiveDashboard(profile, fx, company, fx.tokens.forCompany(company));
    }

    /** The live dashboard of {@code company} with {@code token}, once its stream says it is live (fails with the state it shows). */
    public static Page openLiveDashboard(Path profile, GatewayFixture fx, String company, String token) throws Exception {
        Page page = open(profile, dashboardUrl(fx, company, token));
        try {
            awaitLive(page);
            return page;
        } catch (Exception | Error e) {
            page.close();
            throw e;
        }
    }

    /**
     * Navigates an open {@code page} to the live dashboard of {@code company} with {@code token} and returns once its
     * stream says it is live: for a token whose lifetime must not include the browser's start-up.
     */
    public static void showLiveDashboard(Page page, GatewayFixture fx, String company, String token) throws Exception {
        assertThat(page.eval("(location.href = '" + dashboardUrl(fx, company, token) + "', 'navigating')")).isEqualTo("navigating");
        awaitLive(page);
    }

    private static String dashboardUrl(GatewayFixture fx, String company, String token) {
        return fx.base() + "/#token=" + token + "&companyId=" + company;
    }

    private static void awaitLive(Page page) throws Exception {
        try {
            await().atMost(WAIT).until(() -> "live".equals(page.eval("document.getElementById('state') && document.getElementById('state').textContent")));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            String state = page.eval("document.getElementById('state') && document.getElementById('state').textContent");
            throw new AssertionError("the dashboard never went live: state '" + state + "' at " + page.eval("location.pathname"), e);
        }
    }

    /** Starts the browser on {@code page} with its own {@code profile} directory and DevTools on a port it picks. */
    public static Process start(Path profile, String page) throws Exception {
        return new ProcessBuilder(require().toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--remote-allow-origins=*", "--remote-debugging-port=0", "--user-data-dir=" + profile, page)
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
    }

    public static void stop(Process chrome) throws InterruptedException {
        chrome.destroy();
        if (!chrome.waitFor(10, TimeUnit.SECONDS)) {
            chrome.destroyForcibly();
        }
    }

    /** Just enough of the Chrome DevTools protocol: find the page target, Runtime.evaluate returning strings. */
    public static final class Cdp implements AutoCloseable {
        private final WebSocket ws;
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();

        private Cdp(WebSocket ws) {
            this.ws = ws;
        }

        public static Cdp connect(Path profile, String pageUrl) throws Exception {
            Path portFile = profile.resolve("DevToolsActivePort");
            await().atMost(WAIT).until(() -> Files.exists(portFile) && Files.readAllLines(portFile).size() >= 1);
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            HttpClient http = HttpClient.newHttpClient();
            String[] wsUrl = new String[1];
            await().atMost(WAIT).until(() -> {
                String json = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                for (JsonNode t : Json.mapper().readTree(json)) {
                    if ("page".equals(t.path("type").asText()) && t.path("url").asText().startsWith(pageUrl.split("[?#]", 2)[0])) {
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
        public String eval(String expression) throws Exception {
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
