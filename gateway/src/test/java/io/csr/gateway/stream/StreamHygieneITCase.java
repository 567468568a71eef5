package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.ConfigKey;
import io.csr.common.json.Json;
import io.csr.gateway.ChunkedInputStream;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Backpressure and hygiene: eviction of a client that stops reading, idle timeout, node limit, switches, shutdown. */
class StreamHygieneITCase {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void clientThatStopsReadingIsEvictedAndResumesWithoutLoss() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAM_BUFFER_EVENTS.name(), "10"))) {
            String company = "slow";
            String pad = "x".repeat(16_000);
            List<StreamEntryID> published = new ArrayList<>();
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                s.connect(new InetSocketAddress("127.0.0.1", fx.server.port()), 5_000);
                OutputStream out = s.getOutputStream();
                out.write(("GET /stream/updates?access_token=" + fx.tokens.forCompany(company) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Accept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().getOrDefault(company, 0) == 1);
                StreamMetrics.CompanyStats stats = fx.gateway.metrics().company(company);
                // two small events fit in the client's socket buffer: it has them even though it reads nothing yet
                published.add(fx.publishMetric(company, "hours", 0));
                published.add(fx.publishMetric(company, "hours", 1));
                await().atMost(WAIT).until(() -> stats.eventsDelivered.sum() == 2);
                // the client reads nothing: socket buffers fill, the writer blocks, the 10-event buffer overflows
                while (stats.evictions.get() == 0 && published.size() < 5_000) {
                    for (int i = 0; i < 50; i++) {
                        published.add(fx.xadd(company, "metric_updated", "{\"companyId\":\"slow\",\"seq\":" + published.size() + ",\"pad\":\"" + pad + "\"}"));
                    }
                }
                assertThat(stats.evictions.get()).as("evicted after %d events", published.size()).isEqualTo(1);
                await().atMost(WAIT).until(() -> fx.gateway.hub().subscriberCounts().getOrDefault(company, 0) == 0);
                // a few more events while the client is away
                for (int i = 0; i < 3; i++) {
                    published.add(fx.publishMetric(company, "hours", i));
                }
                // the client now reads what had reached it before the eviction, up to the end of the connection
                InputStream in = s.getInputStream();
                String head = ChunkedInputStream.readHead(in);
                assertThat(head).startsWith("HTTP/1.1 200");
                List<Frame> got = new ArrayList<>();
                try {
                    SseTestClient.parse(new ChunkedInputStream(in), got::add);
                } catch (java.io.IOException endedByReset) {
                    // the server closed the socket under a blocked write; what arrived before is what counts
                }
                List<String> seen = got.stream().filter(f -> f.id() != null).map(Frame::id).toList();
                List<String> all = published.stream().map(Object::toString).toList();
                assertThat(all.subList(0, seen.size())).as("the evicted client saw a gap-free prefix").isEqualTo(seen);
                assertThat(seen.size()).isBetween(2, all.size() - 4);

                String resumeFrom = seen.get(seen.size() - 1);
                try (SseTestClient again = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(company), "lastEventId=" + resumeFrom))) {
                    await().atMost(WAIT).until(() -> again.updateIds().size() >= all.size() - seen.size());
                    assertThat(again.updateIds()).isEqualTo(all.subList(seen.size(), all.size()));
                }
            }
        }
    }

    @Test
    void idleStreamIsClosedAfterTheIdleTimeout() {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAM_IDLE_TIMEOUT_SECONDS.name(), "2",
                ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "1"));
             SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("idle"), null))) {
            await().atMost(WAIT).until(c::ended);
            List<Frame> events = c.events();
            assertThat(events.get(events.size() - 1).data()).contains("idle_timeout");
            assertThat(c.heartbeats()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void nodeLimitAnswers503WithRetryAfter() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAM_MAX_CONNECTIONS.name(), "2",
                ConfigKey.STREAM_RETRY_AFTER_SECONDS.name(), "7"));
             SseTestClient a = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("n1"), null));
             SseTestClient b = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("n2"), null))) {
            assertThat(a.status).isEqualTo(200);
            assertThat(b.status).isEqualTo(200);
            SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("n3"), null));
            c.assertRefused(503, "node_full", "STREAM_MAX_CONNECTIONS=2");
            assertThat(c.header("Retry-After")).isEqualTo("7");
        }
    }

    @Test
    void redisUnreachableAnswers503BeforeTheStreamAndHealthSaysWhich() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.REDIS_URL.name(), "redis://127.0.0.1:1"))) {
            SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("noredis"), null));
            c.assertRefused(503, "redis_unavailable", "Redis");
            assertThat(c.header("Retry-After")).isEqualTo("5");
            java.net.http.HttpResponse<String> health = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(fx.base() + "/health")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(503);
            JsonNode checks = Json.mapper().readTree(health.body()).get("checks");
            assertThat(checks.get("redis").get("status").asText()).isEqualTo("DOWN");
            assertThat(checks.get("postgres").get("status").asText()).isEqualTo("UP");
        }
    }

    @Test
    void streamingSwitchedOffAnswers501() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.STREAMING_ENABLED.name(), "false"))) {
            SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("off"), null));
            c.assertRefused(501, "streaming_disabled", "STREAMING_ENABLED=false");
        }
    }

    @Test
    void shutdownEndsStreamsCleanlyWithACloseEvent() {
        GatewayFixture fx = new GatewayFixture(Map.of());
        SseTestClient c;
        try {
            c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("bye"), null));
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
        } finally {
            fx.close();
        }
        await().atMost(WAIT).until(c::ended);
        List<Frame> events = c.events();
        assertThat(events).isNotEmpty();
        assertThat(events.get(events.size() - 1).event()).isEqualTo("close");
        assertThat(events.get(events.size() - 1).data()).contains("shutdown");
    }
}
