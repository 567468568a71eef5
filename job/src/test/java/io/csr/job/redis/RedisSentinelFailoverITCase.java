package io.csr.job.redis;

import io.csr.common.contract.RedisStreams;
import io.csr.common.redis.LocalRedisSentinel;
import io.csr.job.model.RedisUpdate;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 23, Sentinel: a master, its replica and one Sentinel (quorum 1) of our own on free loopback ports; the update
 * writer on {@code redis-sentinel://…/csrm}; kill -9 of the master between two batches. The writer waits for Sentinel
 * to promote the replica (REDIS_FAILOVER_WAIT_MS) instead of failing, and writes on to the new master.
 */
class RedisSentinelFailoverITCase {
    private static final Pattern N = Pattern.compile("\"n\":(\\d+)");
    private LocalRedisSentinel redis;

    @BeforeEach
    void start() throws Exception {
        redis = LocalRedisSentinel.start(Files.createTempDirectory("csr-redis-sentinel-it"), "csrm");
    }

    @AfterEach
    void stop() throws IOException {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void masterKilledTheWriterWaitsForTheNewMasterAndWritesOn() throws Exception {
        String prefix = "it_" + Long.toHexString(System.nanoTime()) + ":";
        TestProcessingTimeService time = new TestProcessingTimeService();
        time.setCurrentTime(System.currentTimeMillis());
        RedisUpdateSink sink = RedisUpdateSink.builder().redisUrl(redis.url())
                .keyPrefix(prefix).maxBatchSize(10).failoverWaitMs(30_000).timeoutMs(1_000).initialBackoffMs(50).build();
        int killed;
        try (RedisUpdateWriter writer = new RedisUpdateWriter(sink, time, new UnregisteredMetricsGroup(), 0)) {
            for (int i = 0; i < 50; i++) {
                writer.write(new RedisUpdate("acme", "metric_updated", "{\"companyId\":\"acme\",\"n\":" + i + "}"), null);
            }
            writer.flush(false);
            killed = redis.killMaster(); // kill -9 of the master
            for (int i = 50; i < 100; i++) {
                writer.write(new RedisUpdate("acme", "metric_updated", "{\"companyId\":\"acme\",\"n\":" + i + "}"), null);
            }
            writer.flush(false); // returns once Sentinel promoted the replica and the batch is written there
        }
        int replica = redis.master();
        assertThat(replica).as("the replica promoted").isNotEqualTo(killed).isIn(redis.ports());
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
