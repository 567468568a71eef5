package io.csr.job.redis;

import io.csr.common.contract.RedisStreams;
import io.csr.job.model.RedisUpdate;
import io.csr.job.testing.LocalServers;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 23, Sentinel: a master, its replica and one Sentinel (quorum 1) of our own on free loopback ports; the update
 * writer on {@code redis-sentinel://…/csrm}; kill -9 of the master between two batches. The writer waits for Sentinel
 * to promote the replica (REDIS_FAILOVER_WAIT_MS) instead of failing, and writes on to the new master.
 */
class RedisSentinelFailoverITCase {
    private static final Pattern N = Pattern.compile("\"n\":(\\d+)");
    private Path dir;
    private final List<Process> processes = new ArrayList<>();
    private int master;
    private int replica;
    private int sentinel;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("csr-redis-sentinel-it");
        master = freePort();
        replica = freePort();
        sentinel = freePort();
        processes.add(redis(master));
        processes.add(redis(replica, "--replicaof", "127.0.0.1", Integer.toString(master)));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> info(replica).contains("master_link_status:up"));
        Path conf = dir.resolve("sentinel.conf");
        Files.writeString(conf, """
                port %d
                bind 127.0.0.1
                dir "%s"
                sentinel monitor csrm 127.0.0.1 %d 1
                sentinel down-after-milliseconds csrm 1000
                sentinel failover-timeout csrm 5000
                """.formatted(sentinel, dir, master));
        processes.add(new ProcessBuilder("redis-server", conf.toString(), "--sentinel").redirectErrorStream(true)
                .redirectOutput(dir.resolve("sentinel.log").toFile()).start());
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            try (Jedis s = new Jedis("127.0.0.1", sentinel, 1_000)) {
                return !s.sentinelReplicas("csrm").isEmpty();
            }
        });
    }

    @AfterEach
    void stop() throws IOException, InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly().waitFor();
        }
        LocalServers.deleteTree(dir);
    }

    private Process redis(int port, String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--repl-diskless-sync-delay", "0"));
        cmd.addAll(List.of(more));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(port + ".log").toFile()).start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String info(int port) {
        try (Jedis j = new Jedis("127.0.0.1", port, 1_000)) {
            return j.info("replication");
        }
    }

    @Test
    void masterKilledTheWriterWaitsForTheNewMasterAndWritesOn() throws Exception {
        String prefix = "it_" + Long.toHexString(System.nanoTime()) + ":";
        TestProcessingTimeService time = new TestProcessingTimeService();
        time.setCurrentTime(System.currentTimeMillis());
        RedisUpdateSink sink = RedisUpdateSink.builder().redisUrl("redis-sentinel://127.0.0.1:" + sentinel + "/csrm")
                .keyPrefix(prefix).maxBatchSize(10).failoverWaitMs(30_000).timeoutMs(1_000).initialBackoffMs(50).build();
        try (RedisUpdateWriter writer = new RedisUpdateWriter(sink, time, new UnregisteredMetricsGroup(), 0)) {
            for (int i = 0; i < 50; i++) {
                writer.write(new RedisUpdate("acme", "metric_updated", "{\"companyId\":\"acme\",\"n\":" + i + "}"), null);
            }
            writer.flush(false);
            processes.get(0).destroyForcibly().waitFor(); // kill -9 of the master
            for (int i = 50; i < 100; i++) {
                writer.write(new RedisUpdate("acme", "metric_updated", "{\"companyId\":\"acme\",\"n\":" + i + "}"), null);
            }
            writer.flush(false); // returns once Sentinel promoted the replica and the batch is written there
        }
        try (Jedis s = new Jedis("127.0.0.1", sentinel, 1_000)) {
            assertThat(HostAndPort.from(String.join(":", s.sentinelGetMasterAddrByName("csrm"))).getPort()).isEqualTo(replica);
        }
        Set<Long> seen = new HashSet<>();
        try (Jedis now = new Jedis("127.0.0.1", replica, 1_000)) {
            for (StreamEntry e : now.xrange(RedisStreams.updatesKey(prefix, "acme"), (StreamEntryID) null, (StreamEntryID) null)) {
                Matcher m = N.matcher(e.getFields().get(RedisStreams.FIELD_DATA));
                assertThat(m.find()).isTrue();
                seen.add(Long.parseLong(m.group(1)));
            }
        }
        for (long n = 50; n < 100; n++) {
            assertThat(seen).as("update %d, written after the failover", n).contains(n);
        }
    }
}
