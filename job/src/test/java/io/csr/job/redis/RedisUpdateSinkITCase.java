package io.csr.job.redis;

import io.csr.common.contract.RedisStreams;
import io.csr.job.model.RedisUpdate;
import io.csr.common.redis.RedisKeys;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XAddParams;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Against the real Redis on 127.0.0.1:6379; every test writes under its own key prefix and deletes it afterwards. */
class RedisUpdateSinkITCase {
    private static final String REDIS_URL = "redis://127.0.0.1:6379";
    private static final long FLUSH_INTERVAL_MS = 5;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private String prefix;
    private Jedis redis;
    private TestProcessingTimeService time;

    @BeforeEach
    void setUp() throws Exception {
        prefix = "it_" + UUID.randomUUID().toString().substring(0, 8) + ":";
        redis = new Jedis("127.0.0.1", 6379);
        time = new TestProcessingTimeService();
        time.setCurrentTime(System.currentTimeMillis());
    }

    @AfterEach
    void tearDown() {
        RedisKeys.deleteUnder(redis, prefix);
        redis.close();
    }

    private RedisUpdateSinkBuilder sink() {
        return RedisUpdateSink.builder().redisUrl(REDIS_URL).keyPrefix(prefix).flushIntervalMs(FLUSH_INTERVAL_MS)
                .initialBackoffMs(1);
    }

    private RedisUpdateWriter writer(RedisUpdateSink sink) {
        return new RedisUpdateWriter(sink, time, new UnregisteredMetricsGroup(), 0);
    }

    private static RedisUpdate update(String company, String type, int n) {
        return new RedisUpdate(company, type, "{\"companyId\":\"" + company + "\",\"n\":" + n + "}");
    }

    private List<StreamEntry> entries(String company) {
        return redis.xrange(RedisStreams.updatesKey(prefix, company), (StreamEntryID) null, (StreamEntryID) null);
    }

    private static List<String> data(List<StreamEntry> entries) {
        List<String> out = new ArrayList<>();
        for (StreamEntry e : entries) {
            out.add(e.getFields().get(RedisStreams.FIELD_TYPE) + " " + e.getFields().get(RedisStreams.FIELD_DATA));
        }
        return out;
    }

    @Test
    void anUpdateAfterAQuietSpellGoesAtOnceAndLaterOnesWaitForTheFlushTimer() throws Exception {
        try (RedisUpdateWriter writer = writer(sink().build())) {
            writer.write(update("acme", "metric_updated", 1), null);
            assertThat(data(entries("acme"))).as("leading edge: nothing published for a whole interval")
                    .containsExactly("metric_updated {\"companyId\":\"acme\",\"n\":1}");
            writer.write(update("globex", "sroi_updated", 2), null);
            writer.write(update("acme", "journey_flag_updated", 3), null);
            assertThat(entries("globex")).as("still buffered: inside the interval of the last publish").isEmpty();
            assertThat(entries("acme")).hasSize(1);

            time.setCurrentTime(time.getCurrentProcessingTime() + FLUSH_INTERVAL_MS);

            assertThat(data(entries("acme"))).containsExactly(
                    "metric_updated {\"companyId\":\"acme\",\"n\":1}",
                    "journey_flag_updated {\"companyId\":\"acme\",\"n\":3}");
            assertThat(data(entries("globex"))).containsExactly("sroi_updated {\"companyId\":\"globex\",\"n\":2}");
        }
    }

    @Test
    void aFullBatchIsPublishedAtOnce() throws Exception {
        try (RedisUpdateWriter writer = writer(sink().maxBatchSize(2).build())) {
            writer.write(update("acme", "metric_updated", 1), null);      // leading edge: alone
            writer.write(update("acme", "metric_updated", 2), null);      // buffered
            assertThat(entries("acme")).hasSize(1);
            writer.write(update("acme", "metric_updated", 3), null);      // fills the batch of 2
            assertThat(entries("acme")).hasSize(3);
        }
    }

    @Test
    void entriesOlderThanTheRetentionAreTrimmed() throws Exception {
        String key = RedisStreams.updatesKey(prefix, "acme");
        for (int i = 0; i < 300; i++) {
            redis.xadd(key, XAddParams.xAddParams().id(1_000L, i), Map.of("type", "old", "data", "{}"));
        }
        try (RedisUpdateWriter writer = writer(sink().build())) {
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
        }
        List<StreamEntry> left = entries("acme");
        // MINID ~ trims whole stream nodes (100 entries by default), so a few old entries may remain.
        assertThat(left.size()).isLessThan(150);
        assertThat(data(left)).last().isEqualTo("metric_updated {\"companyId\":\"acme\",\"n\":1}");
    }

    @Test
    void reconnectsWhenTheConnectionIsKilled() throws Exception {
        try (RedisUpdateWriter writer = writer(sink().build())) {
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
            String name = "csr-job-updates-" + prefix.replace(":", "") + "-0";
            String killed = clientId(name);
            redis.sendCommand(Protocol.Command.CLIENT, "KILL", "ID", killed);

            writer.write(update("acme", "metric_updated", 2), null);
            writer.flush(false);
            assertThat(clientId(name)).as("a new connection").isNotEqualTo(killed);
        }
        assertThat(entries("acme")).hasSize(2);
    }

    @Test
    void failsTheJobAfterTheLastAttempt() {
        RedisUpdateWriter writer = writer(sink().redisUrl("redis://127.0.0.1:1").maxAttempts(2).failoverWaitMs(0).timeoutMs(500).build());
        assertThatThrownBy(() -> {
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
        }).isInstanceOf(IOException.class)
                .hasMessageContaining("redis://127.0.0.1:1")
                .hasMessageContaining("failed 2 times");
        writer.close();
    }

    /** Issue 23: a failover takes seconds; the writer waits for Redis that long instead of failing the job. */
    @Test
    void waitsForRedisToComeBackWithinTheFailoverBound() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("csr-redis-wait-it");
        Process[] server = new Process[1];
        Thread later = new Thread(() -> {
            try {
                Thread.sleep(1_500); // the outage being simulated, not a wait for a condition
                server[0] = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", dir.toString()).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("redis.log").toFile()).start();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "it-redis-comes-back");
        later.start();
        try (RedisUpdateWriter writer = writer(sink().redisUrl("redis://127.0.0.1:" + port).maxAttempts(1)
                .failoverWaitMs(30_000).timeoutMs(500).initialBackoffMs(50).build())) {
            long start = System.nanoTime();
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
            assertThat(System.nanoTime() - start).as("it waited for the outage").isGreaterThan(1_000_000_000L);
            try (Jedis other = new Jedis("127.0.0.1", port)) {
                assertThat(other.xlen(RedisStreams.updatesKey(prefix, "acme"))).isEqualTo(1);
            }
        } finally {
            later.join();
            if (server[0] != null) {
                server[0].destroyForcibly().waitFor();
            }
            java.nio.file.Files.deleteIfExists(dir.resolve("redis.log"));
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    @Test
    void failsOnlyAfterTheFailoverBound() {
        RedisUpdateWriter writer = writer(sink().redisUrl("redis://127.0.0.1:1").maxAttempts(1).failoverWaitMs(1_000)
                .timeoutMs(200).initialBackoffMs(50).build());
        long start = System.nanoTime();
        assertThatThrownBy(() -> {
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
        }).isInstanceOf(IOException.class).hasMessageContaining("REDIS_FAILOVER_WAIT_MS=1000");
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(1_000_000_000L);
        writer.close();
    }

    /**
     * Issue 23: after a failover lost the tail, the new master may issue a lost id again. The writer sees its stream
     * go back and records the ids that may now name another update, for the gateways' resume check.
     */
    @Test
    void aStreamThatWentBackRecordsTheIdsThatMayBeIssuedAgain() throws Exception {
        String key = RedisStreams.updatesKey(prefix, "acme");
        redis.xadd(key, XAddParams.xAddParams().id(System.currentTimeMillis() + 3_600_000L, 0), Map.of("type", "old", "data", "{}"));
        StreamEntryID issued;
        try (RedisUpdateWriter writer = writer(sink().build())) {
            writer.write(update("acme", "metric_updated", 1), null);
            writer.flush(false);
            issued = entries("acme").get(1).getID();
            redis.del(key); // the failover lost both entries
            time.setCurrentTime(time.getCurrentProcessingTime() + FLUSH_INTERVAL_MS);
            writer.write(update("acme", "metric_updated", 2), null);
            writer.flush(false);
        }
        StreamEntryID reissuedFrom = entries("acme").get(0).getID();
        assertThat(reissuedFrom).isLessThan(issued);
        assertThat(redis.hgetAll(RedisStreams.lostKey(prefix, "acme"))).containsExactly(Map.entry(reissuedFrom.toString(), issued.toString()));
        assertThat(redis.pttl(RedisStreams.lostKey(prefix, "acme"))).isPositive();
    }

    @Test
    void aCountBoundKeepsEachCompanyNearItsCap() throws Exception {
        try (RedisUpdateWriter writer = writer(sink().maxLen(100).maxBatchSize(50).build())) {
            for (int i = 0; i < 1_000; i++) {
                writer.write(update(i % 2 == 0 ? "acme" : "globex", "metric_updated", i), null);
            }
            writer.flush(false);
        }
        // MAXLEN ~ trims whole stream nodes (100 entries by default): between the cap and one node above it
        for (String company : List.of("acme", "globex")) {
            assertThat(redis.xlen(RedisStreams.updatesKey(prefix, company))).isBetween(100L, 200L);
            assertThat(data(entries(company))).last().asString().contains("\"n\":99" + (company.equals("acme") ? "8" : "9"));
        }
    }

    @Test
    void runsAsTheSinkOfAFlinkJob() throws Exception {
        List<RedisUpdate> updates = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            updates.add(update(i % 2 == 0 ? "acme" : "globex", "metric_updated", i));
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.fromData(updates, TypeInformation.of(RedisUpdate.class))
                .sinkTo(sink().build()).name("redis updates").uid("redis-updates");
        env.execute("redis-update-sink-itcase");

        assertThat(data(entries("acme"))).hasSize(25).first().isEqualTo("metric_updated {\"companyId\":\"acme\",\"n\":0}");
        assertThat(data(entries("globex"))).hasSize(25).last().isEqualTo("metric_updated {\"companyId\":\"globex\",\"n\":49}");
    }

    private String clientId(String name) {
        String id = null;
        for (String line : redis.clientList().split("\n")) {
            if (line.contains(" name=" + name + " ")) {
                id = line.substring(3, line.indexOf(' '));
            }
        }
        assertThat(id).as("connection named %s", name).isNotNull();
        return id;
    }
}
