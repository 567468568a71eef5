package io.csr.job.pipeline;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.migrate.Migrations;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Live events cross the job's shuffles at once, whatever FLINK_BUFFER_TIMEOUT_MS says. The embedded job runs with the
 * longest buffer timeout it accepts (10 s) and a 10 min checkpoint interval (a barrier would flush the buffers too),
 * so without {@link LiveFlush} an event would sit in a part-filled buffer for 0–10 s at each of its two shuffles
 * before its window update reached Redis: three probes in a row all under 2 s would happen by chance with odds of
 * about 1 in 100,000. With it, each takes milliseconds on a quiet machine.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class LiveFlushITCase {
    @TempDir
    Path tmp;

    @Test
    void aLiveEventsWindowUpdateReachesRedisWithoutWaitingForTheBufferTimeout() throws Exception {
        try (TestStream stream = new TestStream(); Jedis redis = new Jedis("127.0.0.1", 6379)) {
            ClickHouseSettings chSettings = ClickHouseSettings.from(CsrConfig.fromEnvironment()).withDatabase("csr_it_" + stream.id);
            String prefix = "it_" + stream.id + ":";
            String company = "acme-" + stream.id;
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                EmbeddedJobProcess runs = new EmbeddedJobProcess(stream, tmp, "768m", Map.of(
                        ConfigKey.CLICKHOUSE_DATABASE.name(), chSettings.database(),
                        ConfigKey.REDIS_KEY_PREFIX.name(), prefix,
                        ConfigKey.FLINK_BUFFER_TIMEOUT_MS.name(), "10000",
                        ConfigKey.CHECKPOINT_INTERVAL_MS.name(), "600000"));
                Process job = runs.start("job.log");
                try {
                    // the first event also waits for the job to start
                    publish(stream, company, "warm");
                    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
                            .until(() -> !job.isAlive() || updateOf(redis, prefix, company, "warm") != null);
                    assertThat(job.isAlive()).as("the job is running").isTrue();

                    for (String probe : new String[]{"probe1", "probe2", "probe3"}) {
                        long published = publish(stream, company, probe);
                        await().atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(5))
                                .until(() -> updateOf(redis, prefix, company, probe) != null);
                        long inRedis = updateOf(redis, prefix, company, probe).getID().getTime();
                        assertThat(inRedis - published).as("publish → XADD of live event %s, ms", probe).isLessThan(2_000);
                    }
                } catch (Throwable t) {
                    System.err.println(runs.log("job.log"));
                    throw t;
                } finally {
                    EmbeddedJobProcess.stop(job);
                    redis.del(RedisStreams.updatesKey(prefix, company));
                    ch.dropDatabase();
                }
            }
        }
    }

    private static long publish(TestStream stream, String company, String metric) throws Exception {
        long now = System.currentTimeMillis();
        stream.publish("metrics." + metric, "{\"eventId\":\"" + metric + "-1\",\"companyId\":\"" + company
                + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(now) + "\",\"value\":7}");
        return now;
    }

    private static StreamEntry updateOf(Jedis redis, String prefix, String company, String metric) {
        for (StreamEntry entry : redis.xrange(RedisStreams.updatesKey(prefix, company), (StreamEntryID) null, (StreamEntryID) null)) {
            String data = entry.getFields().get(RedisStreams.FIELD_DATA);
            if (data != null && data.contains("\"metric\":\"" + metric + "\"") && data.contains("\"window\":\"1m\"")) {
                return entry;
            }
        }
        return null;
    }
}
