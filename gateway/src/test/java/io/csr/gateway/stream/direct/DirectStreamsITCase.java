package io.csr.gateway.stream.direct;

import io.csr.common.config.ConfigKey;
import io.csr.gateway.ChunkedInputStream;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Streams served directly on their connection ({@code STREAM_DIRECT_CONNECTIONS}, on by default, so every other SSE
 * test runs through it too): the same answer as through the routing, the connection usable after the stream, the
 * routing for everything that is not a connection's first request.
 */
class DirectStreamsITCase {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** One HTTP/1.1 connection driven by hand. */
    private static final class Connection implements AutoCloseable {
        final Socket socket = new Socket();
        final InputStream in;
        final OutputStream out;

        Connection(GatewayFixture fx) throws IOException {
            socket.connect(new InetSocketAddress("127.0.0.1", fx.server.port()), 5_000);
            socket.setSoTimeout(10_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        /** Sends a GET and returns the answer's head. */
        String get(String target, String... headers) throws IOException {
            StringBuilder req = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (String h : headers) {
                req.append(h).append("\r\n");
            }
            out.write(req.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return ChunkedInputStream.readHead(in);
        }

        /** Reads a body of the length the head announces. */
        String body(String head) throws IOException {
            int length = Integer.parseInt(header(head, "Content-Length"));
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    /** Parses SSE frames from the chunked body on a reader thread, up to its last chunk. */
    private static List<Frame> readStream(InputStream in) {
        List<Frame> frames = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                SseTestClient.parse(new ChunkedInputStream(in), frames::add);
            } catch (IOException e) {
                // the test closes the socket
            }
        });
        return frames;
    }

    @Test
    void aConnectionsFirstStreamRequestIsServedDirectlyWithTheRoutedAnswersHeaders() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.CORS_ALLOWED_ORIGINS.name(), "https://cockpit.example.com"));
             Connection c = new Connection(fx)) {
            String head = c.get("/stream/updates?access_token=" + fx.tokens.forCompany("direct"), "Origin: https://cockpit.example.com");
            assertThat(head).startsWith("HTTP/1.1 200 OK\r\n");
            assertThat(header(head, "Content-Type")).isEqualTo("text/event-stream; charset=utf-8");
            assertThat(header(head, "Cache-Control")).isEqualTo("no-cache");
            assertThat(header(head, "X-Accel-Buffering")).isEqualTo("no");
            assertThat(header(head, "Transfer-Encoding")).isEqualTo("chunked");
            assertThat(header(head, "Connection")).isEqualTo("keep-alive");
            assertThat(header(head, "Date")).isNotBlank();
            assertThat(header(head, "Access-Control-Allow-Origin")).isEqualTo("https://cockpit.example.com");
            assertThat(header(head, "Vary")).isEqualTo("Origin");
            assertThat(header(head, "Access-Control-Expose-Headers")).isEqualTo("Retry-After, WWW-Authenticate");
            assertThat(fx.gateway.metrics().directStreams()).isEqualTo(1);

            List<Frame> frames = readStream(c.in);
            await().atMost(WAIT).until(() -> !frames.isEmpty());
            assertThat(frames.get(0).retry()).as("3000 ms jittered by ±50 %").isBetween(1500, 4500);
            StreamEntryID id = fx.publishMetric("direct", "hours", 1);
            await().atMost(WAIT).until(() -> frames.stream().anyMatch(f -> id.toString().equals(f.id())));
        }
    }

    @Test
    void afterItsStreamEndsTheConnectionCarriesTheNextRequest() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAM_IDLE_TIMEOUT_SECONDS.name(), "1",
                ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "1"));
             Connection c = new Connection(fx)) {
            assertThat(c.get("/stream/updates?access_token=" + fx.tokens.forCompany("again"))).startsWith("HTTP/1.1 200");
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            new ChunkedInputStream(c.in).transferTo(text); // up to the last chunk, when the idle timeout ends the stream
            assertThat(text.toString(StandardCharsets.UTF_8)).contains("idle_timeout");
            assertThat(c.in.readNBytes(2)).as("end of the chunked body").isEqualTo(new byte[] {'\r', '\n'});
            await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().isEmpty());

            String health = c.get("/stream/health");
            assertThat(health).startsWith("HTTP/1.1 200");
            assertThat(c.body(health)).contains("\"status\":\"UP\"");
            assertThat(fx.gateway.metrics().directStreams()).isEqualTo(1);
        }
    }

    @Test
    void aStreamRequestAfterAnotherRequestOnTheConnectionGoesThroughTheRouting() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of());
             Connection c = new Connection(fx)) {
            String health = c.get("/stream/health");
            assertThat(health).startsWith("HTTP/1.1 200");
            c.body(health);
            String head = c.get("/stream/updates?access_token=" + fx.tokens.forCompany("routed"));
            assertThat(head).startsWith("HTTP/1.1 200");
            assertThat(header(head, "Content-Type")).isEqualTo("text/event-stream; charset=utf-8");
            List<Frame> frames = readStream(c.in);
            StreamEntryID id = fx.publishMetric("routed", "hours", 1);
            await().atMost(WAIT).until(() -> frames.stream().anyMatch(f -> id.toString().equals(f.id())));
            assertThat(fx.gateway.metrics().directStreams()).isZero();
        }
    }

    @Test
    void aRefusedFirstRequestGetsTheRoutingsAnswerAndTheConnectionStaysUsable() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of());
             Connection c = new Connection(fx)) {
            String refused = c.get("/stream/updates?access_token=not-a-token");
            assertThat(refused).startsWith("HTTP/1.1 401");
            assertThat(header(refused, "WWW-Authenticate")).startsWith("Bearer");
            assertThat(c.body(refused)).contains("\"error\":\"token_invalid\"");
            assertThat(c.get("/stream/updates?access_token=" + fx.tokens.forCompany("later"))).startsWith("HTTP/1.1 200");
            assertThat(fx.gateway.metrics().directStreams()).isZero();
            await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().getOrDefault("later", 0) == 1);
        }
    }

    @Test
    void aRequestLineTooLongForHttp1StillGets414() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            for (String target : List.of("/health?x=" + "y".repeat(10_240), "/stream/updates?access_token=" + "y".repeat(10_240))) {
                try (Connection c = new Connection(fx)) {
                    assertThat(c.get(target)).as("only HTTP/1 decides about the connection, so it answers").startsWith("HTTP/1.1 414");
                }
            }
        }
    }

    @Test
    void switchedOffEveryStreamGoesThroughTheRouting() {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAM_DIRECT_CONNECTIONS.name(), "false"));
             SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("off"), null))) {
            assertThat(c.status).isEqualTo(200);
            StreamEntryID id = fx.publishMetric("off", "hours", 1);
            await().atMost(WAIT).until(() -> c.updateIds().contains(id.toString()));
            assertThat(fx.gateway.metrics().directStreams()).isZero();
        }
    }
}
