package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.migrate.Migrations;
import io.csr.job.CsrJob;
import io.csr.job.config.JobOptions;
import io.csr.job.redis.RedisUpdateSink;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.source.EventSourceBuilder;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.FailOnceSource;
import io.csr.job.testing.FlinkStandaloneCluster;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.PrivateClickHouse;
import io.csr.job.testing.TestJars;
import io.csr.job.testing.TestStream;
import org.apache.flink.core.execution.JobClient;
import org.awaitility.core.ConditionTimeoutException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.net.URI;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The exactly-once claim end to end, with real NATS, ClickHouse and Redis and a real standalone Flink cluster:
 * 55,000 messages over five companies (5% re-published duplicates, 2% malformed, out-of-order, late and far-too-late
 * events) while the job fails three ways — an operator throwing after a checkpoint, the TaskManager killed with
 * SIGKILL, and the ClickHouse server killed while commits are running (a private server, so other tests are not
 * disturbed) — then recovers; afterwards {@code FINAL} shows every valid event once, every window equal to a
 * recomputation, every malformed message once in dead_letters.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ExactlyOnceITCase {
    private static final int TOTAL = 55_000;
    private static final int COMPANIES = 5;
    private static final long CHECKPOINT_INTERVAL_MS = 1_000;

    @TempDir
    Path tmp;

    @Test
    void everyEventOnceAndEveryWindowRecomputableAfterThreeFailures() throws Exception {
        assumeTrue(PrivateClickHouse.installed(), "clickhouse-server is not installed (bin/csr up installs it)");
        long eventTimeStart = Instant.now().minus(Duration.ofMinutes(30)).toEpochMilli();
        EventFixture fixture = new EventFixture(TOTAL, COMPANIES, eventTimeStart, Duration.ofMinutes(25).toMillis(), 0.05, 0.02, 42);
        List<EventFixture.Message> messages = fixture.messages();

        try (TestStream stream = new TestStream();
             PrivateClickHouse clickHouse = new PrivateClickHouse(tmp.resolve("clickhouse")).start();
             FlinkStandaloneCluster cluster = new FlinkStandaloneCluster(tmp.resolve("flink"), Map.of()).start()) {
            String redisPrefix = "it_" + stream.id + ":";
            ClickHouseSettings chSettings = new ClickHouseSettings(clickHouse.url(), "default", "", "csr_it_" + stream.id, false, 30_000);
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();

                Map<String, String> keys = new HashMap<>();
                keys.put(ConfigKey.NATS_URL.name(), TestStream.NATS_URL);
                keys.put(ConfigKey.NATS_STREAM.name(), stream.stream);
                keys.put(ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix);
                keys.put(ConfigKey.CLICKHOUSE_URL.name(), clickHouse.url());
                keys.put(ConfigKey.CLICKHOUSE_DATABASE.name(), chSettings.database());
                keys.put(ConfigKey.REDIS_KEY_PREFIX.name(), redisPrefix);
                keys.put(ConfigKey.JOB_PARALLELISM.name(), String.valueOf(FlinkStandaloneCluster.SLOTS));
                keys.put(ConfigKey.CHECKPOINT_INTERVAL_MS.name(), String.valueOf(CHECKPOINT_INTERVAL_MS));
                keys.put(ConfigKey.CSR_STATE_DIR.name(), tmp.resolve("state").toString());
                keys.put(ConfigKey.JOB_RESTART_DELAY_MS.name(), "1000");
                keys.put(ConfigKey.FLINK_REST_URL.name(), cluster.restUrl());
                CsrConfig config = CsrConfig.of(keys);
                RuntimeOptions runtime = RuntimeOptions.from(config);
                JobOptions options = JobOptions.from(config);

                Path failedOnce = tmp.resolve("failed-once");
                CsrJob job = new CsrJob(
                        new FailOnceSource<>(EventSourceBuilder.fromConfig(config).build(), failedOnce, 4_000),
                        // few, quick commit retries: the ClickHouse crash below must fail the job, not just be ridden out
                        CsrJob.tableSink(chSettings, options).options(ClickHouseSinkOptions.from(config))
                                .commitRetries(2).retryBackoff(Duration.ofMillis(200), Duration.ofMillis(400)).build(),
                        RedisUpdateSink.builder().options(options).build(),
                        options, runtime, stream.prefix);
                StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment("127.0.0.1",
                        cluster.restPort(), FlinkSettings.job(runtime),
                        TestJars.shadedJobJar().toString(), TestJars.testingJar(tmp).toString());
                JobClient client = job.executeAsync(env);
                say("submitted " + client.getJobID() + " to " + cluster.restUrl());

                List<Long> sequences = new ArrayList<>();
                try {
                    // 1. an operator throws after a completed checkpoint
                    stream.publishAll(messages, 0, 20_000, sequences);
                    await("injected failure").atMost(Duration.ofSeconds(120)).until(() -> Files.exists(failedOnce));
                    long atFailure = committedEvents(ch);
                    await("progress after the injected failure").atMost(Duration.ofSeconds(120))
                            .until(() -> committedEvents(ch) > atFailure + 1_000);

                    // 2. the TaskManager dies (kill -9) and a new one replaces it
                    stream.publishAll(messages, 20_000, 35_000, sequences);
                    long beforeKill = committedEvents(ch);
                    await("progress before the TaskManager kill").atMost(Duration.ofSeconds(120))
                            .until(() -> committedEvents(ch) > beforeKill + 1_000);
                    cluster.killTaskManager();
                    say("killed the TaskManager at " + committedEvents(ch) + " committed events rows");
                    cluster.startTaskManager();
                    long afterKill = committedEvents(ch);
                    await("progress after the TaskManager kill").atMost(Duration.ofSeconds(180))
                            .until(() -> committedEvents(ch) > afterKill + 1_000);

                    // 3. ClickHouse crashes while commits are running, and comes back
                    stream.publishAll(messages, 35_000, 45_000, sequences);
                    long beforeCrash = committedEvents(ch);
                    await("progress before the ClickHouse crash").atMost(Duration.ofSeconds(120))
                            .until(() -> committedEvents(ch) > beforeCrash + 500);
                    boolean caughtInsert = awaitInsertInFlight(ch);
                    clickHouse.kill();
                    say("killed ClickHouse " + (caughtInsert ? "while an INSERT was running" : "(no INSERT seen within 10 s)"));
                    Thread.sleep(3_000); // the outage itself: commits fail meanwhile
                    clickHouse.start();

                    stream.publishAll(messages, 45_000, TOTAL, sequences);
                    PipelineExpectations expected = new PipelineExpectations(messages, sequences, stream.stream);
                    await("every valid event committed").atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2))
                            .until(() -> expected.eventsFinal(ch) >= expected.distinctValidEvents()
                                    && expected.deadLetterSequences(ch).size() >= expected.malformedSequences().size());
                    try {
                        await("windows caught up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2))
                                .until(() -> expected.windowMismatches(ch).isEmpty());
                    } catch (ConditionTimeoutException e) {
                        // the assertion below lists the differences
                    }

                    assertThat(expected.eventsFinal(ch)).isEqualTo(expected.distinctValidEvents());
                    assertThat(ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL"))
                            .isEqualTo(expected.distinctValidEvents());
                    assertThat(expected.deadLetterSequences(ch)).containsExactlyInAnyOrderElementsOf(expected.malformedSequences());
                    List<String> mismatches = expected.windowMismatches(ch);
                    assertThat(mismatches).as("%d window mismatches, first ones: %s", mismatches.size(),
                            mismatches.subList(0, Math.min(25, mismatches.size()))).isEmpty();
                    assertThat(ch.queryLong("SELECT count() FROM metric_windows FINAL")).isGreaterThan(100);
                    String exceptions = cluster.get("/jobs/" + client.getJobID() + "/exceptions");
                    assertThat(exceptions).as("the job failed three ways: %s", exceptions)
                            .contains("injected failure").contains("ClickHouse");
                    assertThat(exceptions.split("\"exceptionName\"", -1).length - 1).isGreaterThanOrEqualTo(3);
                    try (Jedis redis = new Jedis(URI.create(options.redisUrl))) {
                        for (int c = 1; c <= COMPANIES; c++) {
                            assertThat(redis.xlen(RedisStreams.updatesKey(redisPrefix, "co-" + c))).isPositive();
                        }
                    }
                    say("exactly-once held: " + expected.distinctValidEvents() + " distinct valid events, "
                            + expected.malformedSequences().size() + " dead letters, "
                            + ch.queryLong("SELECT count() FROM late_events FINAL") + " late_events rows, "
                            + ch.queryLong("SELECT count() FROM metric_windows FINAL") + " windows, raw events rows "
                            + ch.queryLong("SELECT count() FROM events") + ", failures in the job's exception history: "
                            + (cluster.get("/jobs/" + client.getJobID() + "/exceptions").split("\"exceptionName\"", -1).length - 1));
                } catch (Throwable t) {
                    say("cluster logs:\n" + cluster.logTail(60));
                    throw t;
                } finally {
                    client.cancel().get(60, TimeUnit.SECONDS);
                    ch.dropDatabase();
                    deleteRedisKeys(options.redisUrl, redisPrefix);
                }
            }
        }
    }

    private static void say(String line) {
        System.out.println("[ExactlyOnceITCase " + Instant.now() + "] " + line);
    }

    private static long committedEvents(ClickHouseAccess ch) {
        try {
            return ch.queryLong("SELECT count() FROM events");
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Polls system.processes for a running INSERT (a commit in flight) for up to 10 s. */
    private static boolean awaitInsertInFlight(ClickHouseAccess ch) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (ch.queryLong("SELECT count() FROM system.processes WHERE query LIKE 'INSERT%'") > 0) {
                return true;
            }
        }
        return false;
    }

    private static void deleteRedisKeys(String url, String prefix) {
        try (Jedis redis = new Jedis(URI.create(url))) {
            for (int c = 1; c <= COMPANIES; c++) {
                redis.del(RedisStreams.updatesKey(prefix, "co-" + c));
            }
        }
    }
}
