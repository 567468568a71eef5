package io.csr.gateway.stream;

import io.csr.common.redis.LocalRedisCluster;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.UnifiedJedis;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 23: a gateway on a Redis Cluster of 3 masters + 3 replicas (own processes, own loopback ports), updates
 * flowing to six companies spread over the masters, and kill -9 of the master of one company's slot. The replica
 * takes over; every SSE client gets at most one {@code reset}, never an id twice, and every update the new master
 * holds after the client's first one (nothing silently skipped); the companies on other masters see nothing of it.
 * A client resuming after the failover from an id before it gets exactly the entries after that id, or a reset.
 */
class RedisClusterFailoverITCase {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int COMPANIES = 6;
    private static RedisClusterGateway gw;
    private static LocalRedisCluster cluster;
    private static GatewayFixture fx;
    private static UnifiedJedis writer;

    @BeforeAll
    static void start() throws Exception {
        gw = RedisClusterGateway.start(1, Map.of());
        cluster = gw.cluster();
        fx = gw.fx();
        writer = gw.writer();
    }

    @AfterAll
    static void stop() throws IOException {
        if (gw != null) {
            gw.close();
        }
    }

    private static String company(int i) {
        return "fo" + i;
    }

    @Test
    void masterKilledUnderTrafficEachClientAtMostOneResetNoRepeatNoGap() throws Exception {
        HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.body()).as("/health pings the cluster").contains("\"redis\"");
        assertThat(health.body().replaceAll("\\s", "")).contains("\"redis\":{\"status\":\"UP\"");

        Map<String, SseTestClient> clients = new LinkedHashMap<>();
        for (int i = 0; i < COMPANIES; i++) {
            SseTestClient c = gw.open(company(i), null);
            clients.put(company(i), c);
        }
        Set<Integer> masters = new HashSet<>();
        for (int i = 0; i < COMPANIES; i++) {
            masters.add(cluster.masterOf(fx.key(company(i))));
        }
        assertThat(masters).as("the companies are spread over more than one master").hasSizeGreaterThan(1);
        for (SseTestClient c : clients.values()) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
        }

        List<String> companies = new ArrayList<>(clients.keySet());
        Traffic traffic = Traffic.start(writer, fx::key, companies);
        String victim = company(0);
        await().atMost(WAIT).until(() -> clients.get(victim).updateIds().size() >= 50);
        List<String> beforeKill = clients.get(victim).updateIds();
        String resumeFrom = beforeKill.get(beforeKill.size() / 2);
        int killed = cluster.masterOf(fx.key(victim));
        cluster.kill(killed);
        // the replica takes the slots over: writes to the victim's slot succeed on another node again
        await().atMost(WAIT).until(() -> {
            try {
                return cluster.masterOf(fx.key(victim)) != killed;
            } catch (IllegalStateException e) {
                return false;
            }
        });
        int afterFailover = traffic.rounds();
        await().atMost(WAIT).until(() -> traffic.rounds() > afterFailover + 100);
        // the killed node started again rejoins as a replica; the gateway is ready again (its Redis probe once broadcast
        // PING to every master it had cached, and failed for good after this: csr soak --topology ha, no ready gateway)
        cluster.start();
        await().atMost(WAIT).until(() -> fx.get("/health/ready", null).statusCode() == 200);
        traffic.close();

        try {
            for (String company : companies) {
                FailoverChecks.caughtUpNoRepeatNoGap(company, clients.get(company), writer, fx.key(company), 1);
            }
            // a client resuming after the failover from an id of before it: exactly the entries after it, or reset
            try (SseTestClient r = gw.open(victim, "lastEventId=" + resumeFrom)) {
                FailoverChecks.resumesExactlyOrReset(r, writer, fx.key(victim), resumeFrom);
            }
        } finally {
            clients.values().forEach(SseTestClient::close);
        }
    }
}
