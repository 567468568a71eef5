package io.csr.job.cluster.node;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class HttpProbeTest {
    @Test
    void okOnlyFor200FromAServerThatAnswers() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ping", x -> {
            x.sendResponseHeaders(x.getRequestURI().getQuery() == null ? 200 : 503, -1);
            x.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            // the first answer of a fresh server on a loaded machine may take longer than the probe's 2 s: await it
            await().atMost(Duration.ofSeconds(60)).until(() -> HttpProbe.ok(base + "/ping"));
            assertThat(HttpProbe.ok(base + "/ping")).isTrue();
            assertThat(HttpProbe.ok(base + "/ping?draining")).as("503").isFalse();
            assertThat(HttpProbe.ok(base + "/nothing")).as("404").isFalse();
        } finally {
            server.stop(0);
        }
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        assertThat(HttpProbe.ok("http://127.0.0.1:" + closed + "/ping")).as("nothing listens").isFalse();
    }
}
