package io.csr.gateway;

import com.sun.net.httpserver.HttpServer;
import io.csr.common.config.ConfigKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.StreamEntryID;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A dashboard on another origin, in a real browser: two tiny page servers on their own ports (two origins, one listed
 * in {@code CORS_ALLOWED_ORIGINS}, one not) serve the same page, whose script opens an {@code EventSource} on the
 * gateway and calls it with {@code fetch} and an {@code Authorization} header (a preflighted request). From the
 * allowed origin both work — events arrive, JSON and error answers are readable; from the other origin the browser
 * refuses both.
 */
class BrowserCorsITCase {
    private static final Path CHROMIUM = Chromium.BINARY;
    private static final String PAGE = """
            <!doctype html><html><body><pre id="out">starting</pre><script>
            const q = new URLSearchParams(location.search), gw = q.get('gw'), token = q.get('token');
            window.r = {es: 'pending', lastEventId: null, stats: 'pending', denied: 'pending'};
            const es = new EventSource(gw + '/stream/updates?access_token=' + token);
            es.onopen = () => { window.r.es = 'open'; };
            es.onerror = () => { if (es.readyState === EventSource.CLOSED) window.r.es = 'failed'; };
            es.addEventListener('metric_updated', e => { window.r.lastEventId = e.lastEventId; });
            const auth = {headers: {'Authorization': 'Bearer ' + token}};
            fetch(gw + '/stream/stats', auth).then(res => res.json())
              .then(j => { window.r.stats = 'ok:' + j.companies.length; }, e => { window.r.stats = 'failed:' + e.name; });
            fetch(gw + '/stream/snapshot?companyId=notMine', auth).then(res => res.json().then(j => { window.r.denied = res.status + ':' + j.error; }),
              e => { window.r.denied = 'failed:' + e.name; });
            </script></body></html>
            """;

    private static HttpServer pageServer() throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", ex -> {
            byte[] body = PAGE.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
        return s;
    }

    private static String origin(HttpServer s) {
        return "http://127.0.0.1:" + s.getAddress().getPort();
    }

    @Test
    void eventSourceAndFetchWorkFromAnAllowedOriginAndFailFromAnother(@TempDir Path profile) throws Exception {
        Chromium.require();
        HttpServer allowed = pageServer();
        HttpServer other = pageServer();
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.CORS_ALLOWED_ORIGINS.name(), origin(allowed)))) {
            String company = "corsweb";
            String query = "/dash.html?gw=" + fx.base() + "&token=" + fx.tokens.forCompany(company);
            String allowedPage = origin(allowed) + query;
            try (Chromium.Page cdp = Chromium.open(profile, allowedPage)) {
                await().atMost(WAIT).until(() -> "open".equals(cdp.eval("window.r.es")));
                StreamEntryID id = fx.publishMetric(company, "hours", 1);
                await().atMost(WAIT).until(() -> id.toString().equals(cdp.eval("window.r.lastEventId")));
                await().atMost(WAIT).until(() -> !"pending".equals(cdp.eval("window.r.stats")) && !"pending".equals(cdp.eval("window.r.denied")));
                assertThat(cdp.eval("window.r.stats")).as("stats JSON read (fetched before or after the stream opened)").startsWith("ok:");
                assertThat(cdp.eval("window.r.denied")).as("an error answer is readable too").isEqualTo("403:company_not_granted");

                // the same page from an origin that is not listed: the browser refuses every answer
                String otherPage = origin(other) + query;
                cdp.eval("(location.href = '" + otherPage + "', 'navigating')");
                await().atMost(WAIT).until(() -> otherPage.equals(cdp.eval("location.href")) && "failed".equals(cdp.eval("window.r.es")));
                await().atMost(WAIT).until(() -> !"pending".equals(cdp.eval("window.r.stats")) && !"pending".equals(cdp.eval("window.r.denied")));
                assertThat(cdp.eval("window.r.stats")).isEqualTo("failed:TypeError");
                assertThat(cdp.eval("window.r.denied")).isEqualTo("failed:TypeError");
                assertThat(cdp.eval("window.r.lastEventId")).isEqualTo("null");
            }
        } finally {
            allowed.stop(0);
            other.stop(0);
        }
    }
}
