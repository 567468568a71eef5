package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.job.CsrJob;
import io.csr.job.cluster.LocalCluster;
import io.csr.job.config.JobOptions;
import io.csr.job.redis.RedisUpdateSink;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.source.EventSourceBuilder;
import io.csr.job.testing.UserDayAgreement;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.FailOnceSource;
import io.csr.job.testing.InsertHoldingProxy;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.JobExceptionHistory;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.PrivateClickHouse;
import io.csr.job.testing.TestClusters;
import io.csr.job.testing.TestJars;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The exactly-once claim end to end, with real NATS, ClickHouse and Redis and a real standalone Flink cluster:
 * 55,000 messages over five companies (5% re-published duplicates, 2% malformed, out-of-order, late and far-too-late
 * events) while the job fails three ways — an operator throwing after a checkpoint, the TaskManager killed with
 * SIGKILL, and the ClickHouse server killed while one of the sink's INSERTs is in flight (held half-sent by a proxy;
 * a private server, so other tests are not disturbed) — then recovers; the job's exception history must show each
 * of the three as its own failure. Afterwards {@code FINAL} shows every valid event once, every window equal to a
 * recomputation, every malformed message once in dead_letters, and every row inserted (counted merge-proof, across the
 * ClickHouse restart) agrees with the commit ledger ({@link PipelineExpectations#rawProblems}).
 *
 * <p>Why 55,000: the TaskManager kill has to land while checkpoints that carry batches are being committed, so that
 * the restore may replay batches the ledger already records. A committer that ignored the ledger failed one of two
 * runs of this (loaded: 9 batches recorded twice); a 20,000-message variant whose kill came after the job had caught
 * up passed it. Even here that replay is left to timing, not forced.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ExactlyOnceITCase {
    private static final int TOTAL = 55_000;
    private static final int COMPANIES = 5;
    private static final long CHECKPOINT_INTERVAL_MS = 1_000;
    /** One TaskManager with a slot per source reader: its kill takes every task down. */
    private static final int SLOTS = 3;

    @TempDir
    Path tmp;

    @Test
    void everyEventOnceAndEveryWindowRecomputableAfterThreeFailures() throws Exception {
        PrivateClickHouse.binary(); // fails, with the install command, before anything starts
        long eventTimeStart = Instant.now().minus(Duration.ofMinutes(30)).toEpochMilli();
        EventFixture fixture = new EventFixture(TOTAL, COMPANIES, eventTimeStart, Duration.ofMinutes(25).toMillis(), 0.05, 0.02, 42);
        List<EventFixture.Message> messages = fixture.messages();

        try (PrivateClickHouse clickHouse = new PrivateClickHouse(tmp.resolve("clickhouse")).start();
             InsertHoldingProxy toClickHouse = new InsertHoldingProxy(clickHouse.httpPort());
             JobFixture ns = JobFixture.onPrivateClickHouse(tmp,
                     new ClickHouseSettings(clickHouse.url(), "default", "", "default", false, 30_000))) {
            LocalCluster cluster = TestClusters.cluster(tmp.resolve("flink"), "eo-" + ns.id(), 1, SLOTS, "");
            try {
                cluster.up();
                ClickHouseAccess ch = ns.ch;
                ClickHouseSettings chSettings = ns.clickHouse;
                Map<String, String> keys = ns.jobConfig();
                keys.put(ConfigKey.CLICKHOUSE_URL.name(), toClickHouse.url()); // the job's every request, through the proxy
                keys.put(ConfigKey.JOB_PARALLELISM.name(), String.valueOf(SLOTS));
                keys.put(ConfigKey.CHECKPOINT_INTERVAL_MS.name(), String.valueOf(CHECKPOINT_INTERVAL_MS));
                keys.put(ConfigKey.FLINK_REST_URL.name(), cluster.settings().restUrl());
                CsrConfig config = CsrConfig.of(keys);
                RuntimeOptions runtime = RuntimeOptions.from(config);
                JobOptions options = JobOptions.from(config);

                Path failedOnce = tmp.resolve("failed-once");
                CsrJob job = new CsrJob(
                        new FailOnceSource<>(EventSourceBuilder.fromConfig(config).build(), failedOnce, 4_000),
                        // few, quick commit retries: the ClickHouse crash below must fail the job, not just be ridden out
                        // the sink's every request goes through the proxy that can hold one of its INSERTs
                        CsrJob.tableSink(new ClickHouseSettings(toClickHouse.url(), "default", "", chSettings.database(), false, 30_000), options)
                                .options(ClickHouseSinkOptions.from(config))
                                .commitRetries(2).retryBackoff(Duration.ofMillis(200), Duration.ofMillis(400)).build(),
                        RedisUpdateSink.builder().options(options).build(),
                        options, runtime, ns.stream.prefix);
                StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment("127.0.0.1",
                        cluster.settings().restPort(), FlinkSettings.job(runtime),
                        TestJars.shadedJobJar().toString(), TestJars.testingJar(tmp).toString());
                JobClient client = job.executeAsync(env);
                say("submitted " + client.getJobID() + " to " + cluster.settings().restUrl());

                List<Long> sequences = new ArrayList<>();
                try {
                    // 1. an operator throws after a completed checkpoint
                    ns.stream.publishAll(messages, 0, 20_000, sequences);
                    await("injected failure").atMost(Duration.ofSeconds(120)).until(() -> Files.exists(failedOnce));
                    long atFailure = ns.committedEvents();
                    await("progress after the injected failure").atMost(Duration.ofSeconds(120))
                            .until(() -> ns.committedEvents() > atFailure + 1_000);

                    // 2. the TaskManager dies (kill -9) and a new one replaces it
                    ns.stream.publishAll(messages, 20_000, 35_000, sequences);
                    long beforeKill = ns.committedEvents();
                    await("progress before the TaskManager kill").atMost(Duration.ofSeconds(120))
                            .until(() -> ns.committedEvents() > beforeKill + 1_000);
                    cluster.killTaskManager(1);
                    say("killed the TaskManager at " + ns.committedEvents() + " committed events rows");
                    cluster.restartTaskManager(1);
                    long afterKill = ns.committedEvents();
                    await("progress after the TaskManager kill").atMost(Duration.ofSeconds(180))
                            .until(() -> ns.committedEvents() > afterKill + 1_000);

                    // 3. ClickHouse crashes while commits are running, and comes back
                    ns.stream.publishAll(messages, 35_000, 45_000, sequences);
                    long beforeCrash = ns.committedEvents();
                    await("progress before the ClickHouse crash").atMost(Duration.ofSeconds(120))
                            .until(() -> ns.committedEvents() > beforeCrash + 500);
                    InsertHoldingProxy.Hold held = holdAnInsert(toClickHouse);
                    clickHouse.kill();
                    held.release();
                    String heldInsert = held.request().lines().findFirst().orElse("");
                    say("killed ClickHouse while this INSERT was in flight (sent in part, unanswered): " + heldInsert);
                    Thread.sleep(3_000); // the outage itself: commits fail meanwhile
                    clickHouse.start();

                    ns.stream.publishAll(messages, 45_000, TOTAL, sequences);
                    PipelineExpectations expected = new PipelineExpectations(messages, sequences, ns.stream.stream);
                    expected.assertExactlyOnce(ch, true, "a TaskManager and ClickHouse killed mid-commit", Duration.ofSeconds(180));
                    assertThat(ch.queryLong("SELECT count() FROM metric_windows FINAL")).isGreaterThan(100);
                    // issue 25: the per-user daily aggregates equal a recomputation from metrics_timeseries FINAL after
                    // the same three failures (replayed commits, a TaskManager killed, ClickHouse killed mid-INSERT)
                    try {
                        await("user days caught up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2))
                                .until(() -> UserDayAgreement.mismatches(ch).isEmpty());
                    } catch (ConditionTimeoutException e) {
                        // the assertion below lists the differences
                    }
                    List<String> userDayMismatches = UserDayAgreement.mismatches(ch);
                    assertThat(userDayMismatches).as("%d user-day mismatches, first ones: %s", userDayMismatches.size(),
                            userDayMismatches.subList(0, Math.min(25, userDayMismatches.size()))).isEmpty();
                    assertThat(ch.queryLong("SELECT count() FROM user_daily_metrics FINAL")).isGreaterThan(100);
                    String exceptions = cluster.get("/jobs/" + client.getJobID() + "/exceptions");
                    JobExceptionHistory history = JobExceptionHistory.parse(exceptions);
                    // one root entry per failure the job recovered from; the concurrentExceptions inside an entry are
                    // the same failure seen by other tasks and are not counted
                    assertThat(history.failuresMentioning("injected failure")).as("the operator failure: %s", exceptions).isPositive();
                    assertThat(history.failuresMentioning("TaskManager with id")).as("the TaskManager loss: %s", exceptions).isPositive();
                    // the commit step whose INSERT was held failed: its ledger row ("could not record …"), or its data
                    // ("could not insert <batch>") or the post-insert step's corrections of windows and user days
                    // ("could not run the post-insert step …"): both insert into data tables (seen: a held INSERT INTO
                    // user_daily_metrics failed the post-insert step)
                    assertThat(heldInsert.contains("sink_commits") ? history.failuresMentioning("could not record ")
                            : history.failuresMentioning("could not insert ") + history.failuresMentioning("could not run the post-insert step "))
                            .as("the ClickHouse crash failed the commit whose INSERT it cut (%s): %s", heldInsert, exceptions).isPositive();
                    assertThat(history.failures()).as("three failures at least: %s", exceptions).hasSizeGreaterThanOrEqualTo(3);
                    try (Jedis redis = new Jedis(URI.create(options.redisUrl()))) {
                        for (int c = 1; c <= COMPANIES; c++) {
                            assertThat(redis.xlen(RedisStreams.updatesKey(ns.redisPrefix, "co-" + c))).isPositive();
                        }
                    }
                    say("exactly-once held: " + expected.distinctValidEvents() + " distinct valid events, "
                            + expected.malformedSequences().size() + " dead letters, "
                            + ch.queryLong("SELECT count() FROM late_events FINAL") + " late_events rows, "
                            + ch.queryLong("SELECT count() FROM metric_windows FINAL") + " windows, raw events rows "
                            + ch.queryLong("SELECT count() FROM events") + " (copies of unrecorded batches re-inserted after a crash: "
                            + PipelineExpectations.rawEventCopies(ch) + "), failures in the job's exception history: "
                            + history.failures().size());
                } catch (Throwable t) {
                    say("cluster logs:\n" + cluster.logTail(60));
                    throw t;
                } finally {
                    client.cancel().get(60, TimeUnit.SECONDS);
                }
            } finally {
                cluster.down();
            }
        }
    }

    private static void say(String line) {
        System.out.println("[ExactlyOnceITCase " + Instant.now() + "] " + line);
    }

    /**
     * Catches one of the job's INSERTs (a commit's data or its ledger row) in flight: the proxy forwards its statement and
     * first bytes and holds the rest, so the INSERT is certainly sent and unanswered when ClickHouse is killed. Fails
     * when the job sends no INSERT within the time: the third fault must be a crash mid-INSERT, not just an outage.
     */
    private static InsertHoldingProxy.Hold holdAnInsert(InsertHoldingProxy proxy) throws InterruptedException {
        InsertHoldingProxy.Hold hold = proxy.armInsertHold();
        if (!hold.awaitCaught(60, TimeUnit.SECONDS)) {
            hold.release();
            throw new AssertionError("the job sent no INSERT to ClickHouse within 60 s: the ClickHouse crash would not hit a commit in flight");
        }
        return hold;
    }
}
