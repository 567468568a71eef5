package io.csr.gateway.stream;

import io.csr.common.config.ConfigKey;
import io.csr.common.redis.LocalRedisSentinel;
import io.csr.common.redis.RedisEndpoint;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A gateway on a Sentinel-managed master ({@code redis-sentinel://}, {@link LocalRedisSentinel}) with two stream
 * readers, each on its own connection to the master the Sentinel names ({@code RedisEndpoint.openDirect}: a
 * {@code SocketChannel}'s socket, blocking XREAD). Updates flow to four companies over both readers through two
 * failovers: {@code SENTINEL FAILOVER} (the master demoted to a replica), then kill -9 of the new master. After each,
 * both readers are connected to the new master, and in the end every client has every entry the last master holds
 * after its first one, no id twice, at most one reset per failover (and one at least where a failover lost entries it
 * had sent: the old master takes writes until Sentinel demotes it, even in a SENTINEL FAILOVER); a client
 * resuming from an id of before the failovers gets exactly the entries after it, or a reset.
 */
class RedisSentinelFailoverITCase {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int READERS = 2;
    private static LocalRedisSentinel redis;
    private static GatewayFixture fx;
    private static UnifiedJedis writer;

    @BeforeAll
    static void start() throws Exception {
        redis = LocalRedisSentinel.start(Files.createTempDirectory("csr-redis-sentinel-gw-it"), "csrgw");
        fx = new GatewayFixture(Map.of(ConfigKey.REDIS_URL.name(), redis.url(), ConfigKey.STREAM_READERS.name(), Integer.toString(READERS)));
        writer = RedisEndpoint.parse(redis.url()).open("it-writer", 2_000, 4);
    }

    @AfterAll
    static void stop() throws IOException {
        try {
            if (fx != null) {
                fx.close();
            }
            if (writer != null) {
                writer.close();
            }
        } finally {
            if (redis != null) {
                redis.close();
            }
        }
    }

    /** The names of the gateway's readers connected to the Redis on {@code port} (CLIENT LIST). */
    private static Set<String> readersOn(int port) {
        Set<String> names = new TreeSet<>();
        try (Jedis j = new Jedis("127.0.0.1", port, 1_000)) {
            for (String line : j.clientList().split("\n")) {
                for (String field : line.split(" ")) {
                    if (field.startsWith("name=") && field.contains("-reader-")) {
                        names.add(field.substring(5));
                    }
                }
            }
        } catch (RuntimeException e) {
            // not answering: none
        }
        return names;
    }

    @Test
    void readersFollowTheSentinelsMasterNoRepeatNoGap() throws Exception {
        // companies on both readers' partitions
        List<String> companies = new ArrayList<>();
        Set<Integer> partitions = new TreeSet<>();
        for (int i = 0; companies.size() < 4 || partitions.size() < READERS; i++) {
            String company = "sn" + i;
            companies.add(company);
            partitions.add(fx.gateway.hub().partitionOf(company));
        }
        Map<String, SseTestClient> clients = new LinkedHashMap<>();
        for (String company : companies) {
            clients.put(company, SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(company), null)));
        }
        Traffic traffic = null;
        try {
            for (SseTestClient c : clients.values()) {
                await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            }
            int first = redis.master();
            await().atMost(WAIT).until(() -> readersOn(first).size() == READERS);
            traffic = Traffic.start(writer, fx::key, companies);
            String victim = companies.get(0);
            await().atMost(WAIT).until(() -> clients.get(victim).updateIds().size() >= 30);
            List<String> before = clients.get(victim).updateIds();
            String resumeFrom = before.get(before.size() / 2);

            // 1: SENTINEL FAILOVER — the replica promoted, the old master told to replicate it
            int old = redis.failover();
            int second = redis.awaitNewMaster(old);
            afterFailover(second, traffic);
            redis.awaitReplicaSynced(old);

            // 2: kill -9 of the new master — the old one promoted back
            int killed = redis.killMaster();
            int third = redis.awaitNewMaster(killed);
            assertThat(third).isEqualTo(old);
            afterFailover(third, traffic);
            traffic.close();

            for (String company : companies) {
                SseTestClient c = clients.get(company);
                FailoverChecks.caughtUpNoRepeatNoGap(company, c, writer, fx.key(company), 2);
                assertThat(c.updateIds()).as("%s: updates after both failovers", company).hasSizeGreaterThan(100);
            }
            try (SseTestClient r = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(victim), "lastEventId=" + resumeFrom))) {
                FailoverChecks.resumesExactlyOrReset(r, writer, fx.key(victim), resumeFrom);
            }
        } finally {
            if (traffic != null) {
                traffic.close();
            }
            clients.values().forEach(SseTestClient::close);
        }
    }

    /** Both readers reconnected to {@code master} (the one the Sentinel names), and 50 more updates written. */
    private static void afterFailover(int master, Traffic traffic) {
        await().atMost(WAIT).until(() -> readersOn(master).size() == READERS);
        int now = traffic.rounds();
        await().atMost(WAIT).until(() -> traffic.rounds() > now + 50);
    }
}
