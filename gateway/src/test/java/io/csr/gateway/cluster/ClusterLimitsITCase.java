package io.csr.gateway.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.Gateway;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.GatewaySettings;
import io.csr.gateway.Main;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.TestQueries;
import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateway nodes in this JVM sharing one namespace (Redis key prefix and PostgreSQL schema), as N nodes of a
 * cluster do: the cohort rate limit and the per-company stream cap hold across them (Redis), an accepted cohort call's
 * audit row is in PostgreSQL by the time it is answered, {@code /cluster/stats} sums both nodes, readiness ignores
 * PostgreSQL (a node with an unreachable PostgreSQL keeps streaming, answers REST 503 and stays ready) and a draining
 * node is not ready, refuses new streams and ends its streams with a jittered {@code retry}.
 * The load-balanced trio of processes behind HAProxy is {@code GatewayTrioITCase}.
 */
class ClusterLimitsITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpResponse<String> get(String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A second node of {@code first}'s cluster; its own close() leaves the shared namespace to {@code first}. */
    private static GatewayFixture secondNode(GatewayFixture first, Map<String, String> overrides) {
        Map<String, String> o = new java.util.HashMap<>(overrides);
        o.put(ConfigKey.REDIS_KEY_PREFIX.name(), first.prefix);
        o.put(ConfigKey.POSTGRES_SCHEMA.name(), first.ns);
        return new GatewayFixture(o);
    }

    private static long auditRows(GatewayFixture fx, String company) throws Exception {
        try (Connection c = PostgresSettings.from(fx.config).connect()) {
            return TestQueries.queryLong(c, "SELECT count(*) FROM cohort_audit_log WHERE company_id = ?", company);
        }
    }

    @Test
    void theCohortRateLimitIsOneBudgetForAllNodesAndEveryAcceptedCallIsAuditedBeforeItsAnswer() throws Exception {
        Map<String, String> limits = Map.of(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "10");
        try (GatewayFixture a = new GatewayFixture(limits); GatewayFixture b = secondNode(a, limits)) {
            String token = a.tokens.admin(List.of("rl"));
            int accepted = 0;
            int limited = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < 30; i++) {
                GatewayFixture node = i % 2 == 0 ? a : b;
                HttpResponse<String> res = get(node.base() + "/cohorts", token);
                if (res.statusCode() == 200) {
                    accepted++;
                    assertThat(auditRows(a, "rl")).as("the audit row of accepted call %d is committed when it is answered", i)
                            .isEqualTo(accepted);
                } else {
                    assertThat(res.statusCode()).as(res.body()).isEqualTo(429);
                    assertThat(res.body()).contains("rate_limited", "across all gateway nodes");
                    assertThat(res.headers().firstValue("Retry-After")).isPresent();
                    limited++;
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            // 10 per minute between the two nodes, plus what refilled while the test ran (one every 6 s)
            assertThat(accepted).as("accepted of 30 calls over two nodes in %.1f s", seconds)
                    .isBetween(10, 10 + (int) Math.ceil(seconds / 6));
            assertThat(limited).isEqualTo(30 - accepted);
        }
    }

    @Test
    void theStreamCapOfACompanyCountsItsStreamsOnEveryNodeAndTheClusterStatsSumThem() throws Exception {
        // heartbeats every second: a node finds a stream whose client left at its next write
        Map<String, String> cap = Map.of(ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY.name(), "2", ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "1");
        try (GatewayFixture a = new GatewayFixture(cap); GatewayFixture b = secondNode(a, cap)) {
            String token = a.tokens.forCompany("cap");
            try (SseTestClient onA = SseTestClient.open(a.updatesUrl(token, null));
                 SseTestClient onB = SseTestClient.open(b.updatesUrl(token, null))) {
                assertThat(onA.status).isEqualTo(200);
                assertThat(onB.status).isEqualTo(200);
                try (SseTestClient third = SseTestClient.open(a.updatesUrl(token, null))) {
                    assertThat(third.status).as("a third stream of the company, on either node").isEqualTo(429);
                    assertThat(third.errorBody).contains("too_many_streams", "across the gateway nodes");
                    assertThat(third.header("Retry-After")).isNotNull();
                }
                // each node publishes every NodeFigures.PERIOD (the answering node at once)
                await().atMost(NodeFigures.PERIOD.plusSeconds(5)).untilAsserted(() -> {
                    JsonNode stats = Json.mapper().readTree(get(b.base() + "/cluster/stats", a.tokens.operator(List.of())).body());
                    assertThat(stats.at("/totals/nodes").asInt()).isEqualTo(2);
                    assertThat(stats.at("/totals/connections").asLong()).isEqualTo(2);
                    assertThat(stats.at("/totals/companies/cap").asLong()).isEqualTo(2);
                    assertThat(stats.at("/nodes/0/connections").asLong()).isEqualTo(1);
                });
                assertThat(get(b.base() + "/cluster/stats", a.tokens.admin(List.of("cap"))).statusCode()).isEqualTo(403);
                onB.close();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    try (SseTestClient again = SseTestClient.open(a.updatesUrl(token, null))) {
                        assertThat(again.status).as("the slot B gave back is free on A").isEqualTo(200);
                    }
                });
            }
        }
    }

    @Test
    void aNodeWhosePostgresIsUnreachableKeepsStreamingAnswersRest503AndStaysReady() throws Exception {
        try (GatewayFixture a = new GatewayFixture(Map.of())) {
            CsrConfig broken = a.config.with(Map.of(ConfigKey.POSTGRES_URL.name(), "jdbc:postgresql://127.0.0.1:1/test",
                    ConfigKey.POSTGRES_POOL_TIMEOUT_MS.name(), "1000"));
            GatewaySettings settings = GatewaySettings.from(broken);
            Gateway g = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(broken)), PostgresSettings.from(broken), Clock.systemUTC());
            WebServer server = Main.server(settings, g).build().start();
            try {
                String base = "http://127.0.0.1:" + server.port();
                String token = a.tokens.admin(List.of("pgdown"));
                try (SseTestClient stream = SseTestClient.open(base + "/stream/updates?access_token=" + token)) {
                    assertThat(stream.status).as(String.valueOf(stream.errorBody)).isEqualTo(200);
                    String id = a.publishMetric("pgdown", "hours", 1).toString();
                    await().atMost(Duration.ofSeconds(10)).until(() -> stream.updateIds().contains(id));
                }
                HttpResponse<String> rest = get(base + "/cohorts", token);
                assertThat(rest.statusCode()).as(rest.body()).isEqualTo(503);
                assertThat(rest.body()).contains("postgres_unavailable");
                assertThat(rest.headers().firstValue("Retry-After")).isPresent();
                HttpResponse<String> ready = get(base + "/health/ready", null);
                assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
                assertThat(get(base + "/health/live", null).statusCode()).isEqualTo(200);
                assertThat(get(base + "/health", null).statusCode()).as("the full report still says PostgreSQL is down").isEqualTo(503);
            } finally {
                server.stop();
                g.close();
            }
        }
    }

    @Test
    void aDrainingNodeIsNotReadyRefusesNewStreamsAndSendsItsClientsAwayWithAJitteredRetry() throws Exception {
        try (GatewayFixture a = new GatewayFixture(Map.of())) {
            String token = a.tokens.forCompany("drain");
            assertThat(get(a.base() + "/health/ready", null).statusCode()).isEqualTo(200);
            try (SseTestClient s1 = SseTestClient.open(a.updatesUrl(token, null));
                 SseTestClient s2 = SseTestClient.open(a.updatesUrl(token, null))) {
                await().atMost(Duration.ofSeconds(5)).until(() -> !s1.frames.isEmpty() && !s2.frames.isEmpty());
                assertThat(s1.frames.get(0).retry()).as("retry is jittered around 3000 ms").isBetween(1500, 4500);
                Thread drain = Thread.ofVirtual().start(() -> a.gateway.drainStreams(5_000));
                await().atMost(Duration.ofSeconds(5)).until(() -> s1.ended() && s2.ended());
                drain.join();
                for (SseTestClient s : List.of(s1, s2)) {
                    SseTestClient.Frame close = s.events().get(s.events().size() - 1);
                    assertThat(close.event()).isEqualTo("close");
                    assertThat(close.data()).contains("shutdown");
                    assertThat(close.retry()).as("the close frame tells when to come back").isBetween(500, 5000);
                }
                HttpResponse<String> ready = get(a.base() + "/health/ready", null);
                assertThat(ready.statusCode()).isEqualTo(503);
                assertThat(ready.body()).contains("DRAINING");
                try (SseTestClient late = SseTestClient.open(a.updatesUrl(token, null))) {
                    assertThat(late.status).isEqualTo(503);
                    assertThat(late.errorBody).contains("draining");
                }
            }
        }
    }
}
