package io.csr.job.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 26's finding, created on purpose: after a restore the job's replay reaches a window's count with other events
 * than the run that died, and a version must still name one value.
 *
 * <p>The first run counts 20 events of one minute, takes a savepoint, counts 10 more (published to Redis at once,
 * never committed: no checkpoint follows) and is cancelled. Those 10 leave the stream (as if the dead run had read
 * events that the replay meets in another order or not at all) and 10 others of the same minute take their place;
 * the second run restores the savepoint and counts them: 30 again, with another sum. Every (window, version) in the
 * company's Redis stream and in {@code metric_windows} must carry one count and sum, and a dashboard that keeps the
 * highest version it saw (as {@code csr-stream.js} does) must end on {@code metric_windows FINAL}. With versions of
 * the count alone (2·count) both runs published version 60 with two sums and the dashboard kept the dead run's.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ReplayVersionITCase {
    private static final String COMPANY = "co-replay";

    @TempDir
    Path tmp;

    private int nextId;

    private EventFixture.Message metric(long at, double value) {
        String id = "rv-" + (nextId++);
        String body = "{\"eventId\":\"" + id + "\",\"companyId\":\"" + COMPANY + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at)
                + "\",\"value\":" + value + "}";
        return new EventFixture.Message("metrics.sroi", body, COMPANY, id, "sroi", at, value, true, false);
    }

    @Test
    void aReplayThatReachesACountWithOtherEventsPublishesItUnderAnotherHigherVersion() throws Exception {
        // an hour ago: a backlog for this fresh company, whose clock never passes the minute's end here
        long minute = Instant.now().minus(Duration.ofHours(1)).toEpochMilli() / 60_000 * 60_000;
        List<EventFixture.Message> counted = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            counted.add(metric(minute + i * 500L, i + 1));
        }
        List<EventFixture.Message> lost = new ArrayList<>();
        List<EventFixture.Message> replayed = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            lost.add(metric(minute + 10_000 + i * 500L, 100));
            replayed.add(metric(minute + 20_000 + i * 500L, 7));
        }
        try (JobFixture fx = new JobFixture(tmp)) {
            Map<String, String> keys = fx.jobConfig();
            keys.put(ConfigKey.EVENT_TIME_IDLE_MS.name(), "600000");   // no idle run-on: the windows stay open
            CsrConfig config = CsrConfig.fromEnvironment().with(keys);
            List<EventFixture.Message> published = new ArrayList<>();
            List<Long> sequences = new ArrayList<>();

            JobClient died = start(config, null, false);
            String savepoint;
            try {
                publish(fx, published, sequences, counted);
                awaitPublished(fx, 20);
                savepoint = died.triggerSavepoint(tmp.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
                        .get(3, TimeUnit.MINUTES);
                publish(fx, published, sequences, lost);
                awaitPublished(fx, 30);                                // shown on dashboards, never committed
            } finally {
                died.cancel().get(60, TimeUnit.SECONDS);
                // the cancel is acknowledged before the tasks stop: the dead run must not read what follows. Its result
                // (a cancellation) is there once the job ended and its MiniCluster shut down, after which asking the
                // job's status fails with "MiniCluster is not yet running or has already been shut down"
                died.getJobExecutionResult().handle((result, cancelled) -> null).get(60, TimeUnit.SECONDS);
            }
            for (long seq : sequences.subList(20, 30)) {
                fx.stream.deleteMessage(seq);
            }
            publish(fx, published, sequences, replayed);

            JobClient restored = start(config, savepoint, true);
            try {
                double sum = 0;
                for (EventFixture.Message m : counted) {
                    sum += m.value();
                }
                double expectedSum = sum + 70;
                for (String size : List.of("1m", "1h", "1d")) {
                    await("metric_windows FINAL " + size + " holds the restored run's 30").atMost(Duration.ofSeconds(90))
                            .pollInterval(Duration.ofMillis(500)).until(() -> {
                                List<JsonNode> rows = fx.ch.query("SELECT count, sum FROM metric_windows FINAL WHERE company_id = '"
                                        + COMPANY + "' AND window_size = '" + size + "'");
                                return rows.size() == 1 && rows.get(0).get("count").asLong() == 30
                                        && rows.get(0).get("sum").asDouble() == expectedSum;
                            });
                }
                awaitPublishedSum(fx, expectedSum);

                Map<String, String> valueOf = new HashMap<>();
                List<String> conflicts = new ArrayList<>();
                Map<String, JsonNode> view = new LinkedHashMap<>();
                for (StreamEntry e : updates(fx)) {
                    JsonNode d = Json.mapper().readTree(e.getFields().get(RedisStreams.FIELD_DATA));
                    String window = d.get("window").asText() + "@" + d.get("windowStart").asText();
                    same(valueOf, conflicts, window + " v" + d.get("version").asLong(), d.get("count").asLong(), d.get("sum").asDouble(),
                            "Redis entry " + e.getID());
                    JsonNode shown = view.get(window);
                    if (shown == null || d.get("version").asLong() > shown.get("version").asLong()) {
                        view.put(window, d);                           // what csr-stream.js applies
                    }
                }
                for (JsonNode r : fx.ch.query("SELECT window_size, toUnixTimestamp(window_start) AS ws, count, sum, version"
                        + " FROM metric_windows WHERE company_id = '" + COMPANY + "'")) {
                    String window = r.get("window_size").asText() + "@" + Instant.ofEpochSecond(r.get("ws").asLong());
                    same(valueOf, conflicts, window + " v" + r.get("version").asLong(), r.get("count").asLong(), r.get("sum").asDouble(),
                            "metric_windows row");
                }
                assertThat(conflicts).as("one value per (window, version) in Redis and ClickHouse").isEmpty();

                for (JsonNode r : fx.ch.query("SELECT window_size, toUnixTimestamp(window_start) AS ws, count, sum, version"
                        + " FROM metric_windows FINAL WHERE company_id = '" + COMPANY + "'")) {
                    String window = r.get("window_size").asText() + "@" + Instant.ofEpochSecond(r.get("ws").asLong());
                    JsonNode shown = view.get(window);
                    assertThat(shown).as("a live update of %s", window).isNotNull();
                    assertThat(shown.get("version").asLong() + " count " + shown.get("count").asLong() + " sum " + shown.get("sum").asDouble())
                            .as("the dashboard's view of %s ends on metric_windows FINAL", window)
                            .isEqualTo(r.get("version").asLong() + " count " + r.get("count").asLong() + " sum " + r.get("sum").asDouble());
                }
            } finally {
                restored.cancel().get(60, TimeUnit.SECONDS);
            }
        }
    }

    /** Records {@code count}/{@code sum} for {@code key}, or a conflict when the key was seen with another value. */
    private static void same(Map<String, String> valueOf, List<String> conflicts, String key, long count, double sum, String where) {
        String value = count + "/" + sum;
        String before = valueOf.putIfAbsent(key, value);
        if (before != null && !before.equals(value)) {
            conflicts.add(key + ": " + before + " and, in a " + where + ", " + value);
        }
    }

    private static void publish(JobFixture fx, List<EventFixture.Message> published, List<Long> sequences,
                                List<EventFixture.Message> batch) throws Exception {
        int from = published.size();
        published.addAll(batch);
        fx.stream.publishAll(published, from, published.size(), sequences);
    }

    /** Until the company's Redis stream has an hour-window update of {@code count}. */
    private static void awaitPublished(JobFixture fx, long count) {
        await("an hour-window update of count " + count).atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> hourUpdates(fx).stream().anyMatch(d -> d.get("count").asLong() == count));
    }

    /** Until the company's Redis stream has an hour-window update of count 30 with {@code sum}. */
    private static void awaitPublishedSum(JobFixture fx, double sum) {
        await("an hour-window update of count 30 and sum " + sum).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> hourUpdates(fx).stream().anyMatch(d -> d.get("count").asLong() == 30 && d.get("sum").asDouble() == sum));
    }

    private static List<JsonNode> hourUpdates(JobFixture fx) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (StreamEntry e : updates(fx)) {
            JsonNode d = Json.mapper().readTree(e.getFields().get(RedisStreams.FIELD_DATA));
            if (d.get("window").asText().equals("1h")) {
                out.add(d);
            }
        }
        return out;
    }

    private static List<StreamEntry> updates(JobFixture fx) {
        try (Jedis redis = new Jedis(URI.create(CsrConfig.fromEnvironment().get(ConfigKey.REDIS_URL)))) {
            return redis.xrange(RedisStreams.updatesKey(fx.redisPrefix, COMPANY), (StreamEntryID) null, null);
        }
    }

    /**
     * The live job in this JVM, from {@code savepoint} when given. Without {@code checkpoints}, none is taken on its
     * own (only the savepoint the test asks for), so what it counts after that savepoint is never committed.
     */
    private static JobClient start(CsrConfig config, String savepoint, boolean checkpoints) throws Exception {
        Configuration flink = FlinkSettings.job(RuntimeOptions.from(config));
        if (!checkpoints) {
            flink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofDays(7));
        }
        if (savepoint != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        return JobFixture.job(config).executeAsync(StreamExecutionEnvironment.createLocalEnvironment(2, flink));
    }
}
