package io.csr.gateway.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.common.lb.LoadBalancedGateways;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.TestTokens;
import io.csr.common.redis.RedisKeys;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.XAddParams;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three gateway processes on loopback behind the real HAProxy ({@link LoadBalancedGateways}, the configuration
 * shipped in {@code deploy/}), sharing one namespace as the nodes of one cluster do. Scaled to this shared 2-core
 * machine: the cohort limit is 60 a minute (the 600, with 180 calls for its 1,800), the per-company stream cap
 * 12, and failover runs 120 streams (20 companies × 6) instead of 3,000.
 * <ol>
 * <li>180 cohort calls for one company, spread over the three gateways and the balancer, let through 60 (plus what
 * refilled meanwhile), and every accepted one has its audit row;</li>
 * <li>the company's stream cap holds across nodes: 12 streams, 4 on each gateway, then a 13th is refused on each;</li>
 * <li>with {@code ANALYTICS_REFRESH_SECONDS=10} on all three for a minute, at most 6 refreshes, at least 10 s apart;</li>
 * <li>kill -9 of the gateway holding the most streams, then SIGTERM of the next: every stream resumes on the others
 * by {@code Last-Event-ID} with no gap and no frame twice (each client's ids are exactly the ids published for its
 * company), the drained one is gone within {@code GATEWAY_DRAIN_SECONDS}, an accepted cohort call answered by the
 * killed gateway just before the kill has its audit row, and {@code /cluster/stats} counts the streams of the live
 * nodes only.</li>
 * </ol>
 * The PostgreSQL outage of one node (streams flow, REST 503, ready) is {@link ClusterLimitsITCase}'s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayTrioITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final int COHORT_LIMIT = 60;
    private static final int STREAM_CAP = 12;
    private static final int DRAIN_SECONDS = 5;
    private static final Duration REFRESH = Duration.ofSeconds(10);

    private final String ns = "it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    private final String prefix = ns + ":";
    private final TestTokens tokens = new TestTokens(GatewayFixture.SECRET);
    private CsrConfig config;
    private PostgresSettings pg;
    private Jedis redis;
    private LoadBalancedGateways lb;
    private Path dir;
    private Instant startedAt;

    @BeforeAll
    void startTrio() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put(ConfigKey.JWT_SECRET.name(), GatewayFixture.SECRET);
        env.put(ConfigKey.REDIS_KEY_PREFIX.name(), prefix);
        env.put(ConfigKey.POSTGRES_SCHEMA.name(), ns);
        env.put(ConfigKey.CLICKHOUSE_DATABASE.name(), "csr_" + ns);
        env.put(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), Long.toString(REFRESH.toSeconds()));
        env.put(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), Integer.toString(COHORT_LIMIT));
        env.put(ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY.name(), Integer.toString(STREAM_CAP));
        env.put(ConfigKey.GATEWAY_DRAIN_SECONDS.name(), Integer.toString(DRAIN_SECONDS));
        env.put(ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "2");
        env.put(ConfigKey.STREAM_READERS.name(), "1");
        env.put(ConfigKey.POSTGRES_POOL_SIZE.name(), "4");
        env.put(ConfigKey.COHORT_RULE_REFRESH_SECONDS.name(), "0");
        config = CsrConfig.fromEnvironment().with(env);
        pg = PostgresSettings.from(config);
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        redis = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)));
        dir = Files.createTempDirectory("csr-trio-");
        lb = LoadBalancedGateways.start(System.getProperty("java.class.path"), env, dir, 3);
        startedAt = Instant.now(); // the minute of three schedules starts once all three run (start-up time varies with load)
    }

    @AfterAll
    void stopTrio() throws Exception {
        if (lb != null) {
            lb.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        if (redis != null) {
            RedisKeys.deleteUnder(redis, prefix);
            redis.close();
        }
        if (pg != null) {
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS " + ns + " CASCADE");
            }
        }
    }

    private static HttpResponse<String> get(String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private long auditRows(String company) throws Exception {
        try (Connection c = pg.connect(); PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM cohort_audit_log WHERE company_id = ?")) {
            ps.setString(1, company);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Gateway {@code i}, the balancer for {@code i == 3}. */
    private String target(int i) {
        return i == 3 ? lb.url() : lb.gatewayUrl(i);
    }

    @Test
    @Order(1)
    void theCohortLimitLetsThroughItsBudgetWhicheverNodeTheCallsHit() throws Exception {
        String token = tokens.admin(List.of("rl"));
        int accepted = 0;
        Map<Integer, Integer> statuses = new HashMap<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < 3 * COHORT_LIMIT; i++) {
            HttpResponse<String> res = get(target(i % 4) + "/cohorts?companyId=rl", token);
            statuses.merge(res.statusCode(), 1, Integer::sum);
            if (res.statusCode() == 200) {
                accepted++;
            } else {
                assertThat(res.statusCode()).as(res.body()).isEqualTo(429);
                assertThat(res.headers().firstValue("Retry-After")).isPresent();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int refilled = (int) Math.ceil(seconds * COHORT_LIMIT / 60.0);
        assertThat(accepted).as("accepted of %d calls over 3 nodes and the balancer in %.1f s: %s", 3 * COHORT_LIMIT, seconds, statuses)
                .isBetween(COHORT_LIMIT, COHORT_LIMIT + refilled);
        assertThat(auditRows("rl")).as("an audit row for every accepted call").isEqualTo(accepted);
    }

    @Test
    @Order(2)
    void theStreamCapOfACompanyHoldsAcrossTheNodes() throws Exception {
        String token = tokens.forCompany("capco");
        List<SseTestClient> open = new ArrayList<>();
        try {
            for (int i = 0; i < STREAM_CAP; i++) {
                SseTestClient c = SseTestClient.open(lb.gatewayUrl(i % 3) + "/stream/updates?companyId=capco&access_token=" + token);
                open.add(c);
                assertThat(c.status).as("stream %d of the cap: %s", i, c.errorBody).isEqualTo(200);
            }
            for (int i = 0; i < 4; i++) {
                try (SseTestClient over = SseTestClient.open(target(i) + "/stream/updates?companyId=capco&access_token=" + token)) {
                    assertThat(over.status).as("one over the cap on %s", target(i)).isEqualTo(429);
                    assertThat(over.errorBody).contains("too_many_streams", "across the gateway nodes");
                }
            }
        } finally {
            open.forEach(SseTestClient::close);
        }
    }

    @Test
    @Order(3)
    void threeNodesRefreshTheAnalyticsViewsAtMostOncePerInterval() throws Exception {
        Instant windowEnd = startedAt.plus(Duration.ofSeconds(60));
        long waitMillis = Duration.between(Instant.now(), windowEnd.plusSeconds(2)).toMillis();
        if (waitMillis > 0) {
            Thread.sleep(waitMillis); // the property is about a minute of three schedules: nothing to await but the clock
        }
        for (int i = 0; i < 3; i++) {
            assertThat(lb.alive(i)).as("gateway %d ran the whole minute", i).isTrue();
        }
        List<Instant> refreshes = new ArrayList<>();
        try (Connection c = pg.connect(); PreparedStatement ps = c.prepareStatement(
                "SELECT started_at FROM view_refreshes WHERE trigger = 'schedule' AND started_at >= ? AND started_at < ? ORDER BY started_at")) {
            ps.setTimestamp(1, Timestamp.from(startedAt));
            ps.setTimestamp(2, Timestamp.from(windowEnd));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    refreshes.add(rs.getTimestamp(1).toInstant());
                }
            }
        }
        // at least 2: the schedules ran (each node refreshes at start when the last refresh is older than the interval)
        assertThat(refreshes).as("refreshes by three schedules of %d s in one minute", REFRESH.toSeconds()).hasSizeBetween(2, 6);
        for (int i = 1; i < refreshes.size(); i++) {
            assertThat(Duration.between(refreshes.get(i - 1), refreshes.get(i))).as("gap before refresh %d", i).isGreaterThanOrEqualTo(REFRESH);
        }
    }

    @Test
    @Order(4)
    void afterKill9AndSigtermEveryStreamResumesOnTheOthersWithNoGapAndNoFrameTwice() throws Exception {
        int companies = 20;
        int perCompany = 6;
        Map<String, List<String>> published = new ConcurrentHashMap<>();
        List<ResumingSseClient> clients = new ArrayList<>();
        try {
            for (int c = 0; c < companies; c++) {
                String company = "fo" + c;
                published.put(company, new CopyOnWriteArrayList<>());
                String token = tokens.forCompany(company);
                for (int k = 0; k < perCompany; k++) {
                    clients.add(new ResumingSseClient(lb.url(), company, token));
                }
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> clients.stream().allMatch(ResumingSseClient::streaming));
            Publisher publisher = new Publisher(published);
            Thread pub = Thread.ofPlatform().name("trio-publisher").start(publisher);
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> published.values().stream().allMatch(l -> l.size() >= 10));

                // kill -9 of the node holding the most streams, right after it accepted a cohort call
                int victim = busiestNode();
                HttpResponse<String> call = get(lb.gatewayUrl(victim) + "/cohorts?companyId=auditco", tokens.admin(List.of("auditco")));
                assertThat(call.statusCode()).as(call.body()).isEqualTo(200);
                lb.kill(victim);
                assertThat(auditRows("auditco")).as("the accepted call's audit row outlived its gateway").isEqualTo(1);
                await().atMost(Duration.ofSeconds(30)).until(() -> clients.stream().allMatch(c -> caughtUp(c, published)));

                // SIGTERM of the next busiest: drained within the grace period, its clients sent elsewhere
                int drained = busiestNode();
                long t0 = System.nanoTime();
                Process p = lb.terminate(drained);
                assertThat(p.waitFor(DRAIN_SECONDS + 3, TimeUnit.SECONDS)).as("gateway %d gone within GATEWAY_DRAIN_SECONDS=%d (+3 s)",
                        drained, DRAIN_SECONDS).isTrue();
                double drainSeconds = (System.nanoTime() - t0) / 1e9;
                assertThat(clients.stream().mapToInt(c -> c.closes.size()).sum()).as("clients told to go (event: close) by the drain in %.1f s",
                        drainSeconds).isPositive();
                await().atMost(Duration.ofSeconds(10)).until(() -> published.values().stream().allMatch(l -> l.size() >= 10 + 40));
            } finally {
                publisher.stop();
                pub.join();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> clients.stream().allMatch(c -> caughtUp(c, published)));
            for (ResumingSseClient c : clients) {
                List<String> expected = published.get(c.companyId);
                assertThat(c.resets).as("resets of a client of %s", c.companyId).isEmpty();
                assertThat(c.ids).as("every update of %s exactly once, in order (%d connects)", c.companyId, c.connects.get())
                        .containsExactlyElementsOf(expected);
            }
            assertThat(clients.stream().mapToInt(c -> c.connects.get()).max().orElse(0)).as("some clients reconnected twice").isGreaterThanOrEqualTo(2);
            int survivor = 3 - lbDead().stream().mapToInt(Integer::intValue).sum();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                JsonNode stats = Json.mapper().readTree(get(lb.gatewayUrl(survivor) + "/cluster/stats", tokens.operator(List.of())).body());
                assertThat(stats.at("/totals/nodes").asInt()).as("only the live node counts: %s", stats).isEqualTo(1);
                assertThat(stats.at("/totals/connections").asLong()).isEqualTo((long) companies * perCompany);
            });
        } finally {
            clients.forEach(ResumingSseClient::close);
        }
    }

    private List<Integer> lbDead() {
        List<Integer> dead = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            if (!lb.alive(i)) {
                dead.add(i);
            }
        }
        return dead;
    }

    private static boolean caughtUp(ResumingSseClient c, Map<String, List<String>> published) {
        List<String> expected = published.get(c.companyId);
        return c.ids.size() >= expected.size();
    }

    /** The live gateway with the most open streams (its own /stream/stats). */
    private int busiestNode() throws Exception {
        int best = -1;
        long most = -1;
        for (int i = 0; i < 3; i++) {
            if (!lb.alive(i)) {
                continue;
            }
            JsonNode stats = Json.mapper().readTree(get(lb.gatewayUrl(i) + "/stream/stats", tokens.operator(List.of())).body());
            long n = stats.get("connections").asLong();
            if (n > most) {
                most = n;
                best = i;
            }
        }
        assertThat(most).as("streams on the busiest node").isPositive();
        return best;
    }

    /** XADDs one update per company every 100 ms, as the job does, and records each id. */
    private final class Publisher implements Runnable {
        private final Map<String, List<String>> published;
        private volatile boolean running = true;

        Publisher(Map<String, List<String>> published) {
            this.published = published;
        }

        void stop() {
            running = false;
        }

        @Override
        public void run() {
            try (Jedis j = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
                long version = 0;
                while (running) {
                    version++;
                    for (Map.Entry<String, List<String>> e : published.entrySet()) {
                        String data = "{\"companyId\":\"" + e.getKey() + "\",\"metric\":\"hours\",\"window\":\"1m\",\"windowStart\":\"2026-12-06T10:00:00Z\","
                                + "\"count\":" + version + ",\"sum\":1.0,\"min\":1.0,\"max\":1.0,\"avg\":1.0,\"p50\":1.0,\"p75\":1.0,\"p95\":1.0,"
                                + "\"stddev\":0.0,\"version\":" + version + ",\"final\":false}";
                        e.getValue().add(j.xadd(RedisStreams.updatesKey(prefix, e.getKey()), XAddParams.xAddParams(),
                                Map.of(RedisStreams.FIELD_TYPE, "metric_updated", RedisStreams.FIELD_DATA, data)).toString());
                    }
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
