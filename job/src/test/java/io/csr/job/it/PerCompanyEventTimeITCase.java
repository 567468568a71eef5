package io.csr.job.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * "Every valid event counts", as a user would see it: company A publishes live, company B a backlog three hours old
 * while A is live, company C live and then observations 25 to 30 minutes old — later than the allowed lateness
 * (ALLOWED_LATENESS_MS, 10 min by default) behind its own clock. The first half is published and the embedded job
 * killed with SIGKILL once 600 events are committed; then the second half is published and a second job process
 * resumes from the killed one's latest checkpoint. Afterwards every window of A, B and C in {@code metric_windows FINAL}
 * equals the recomputation from all published events (C's too-late ones included, counted by corrections; nothing of
 * A's or B's is late), every event was inserted once, and in the Redis streams the SSE gateway serves each of B's and
 * C's windows has versions that go up within each run (the second run starts again from the first one's last
 * checkpoint, so its first versions may lie below what the first run published after it) and end at the version and
 * count ClickHouse holds.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class PerCompanyEventTimeITCase {
    private static final String A = "co-live";
    private static final String B = "co-backlog";
    private static final String C = "co-late";

    @TempDir
    Path tmp;

    private final Random random = new Random(8);
    private int nextId;

    private EventFixture.Message metric(String company, String metric, long at) {
        double value = Math.round(random.nextDouble() * 1000) / 10.0 + 1;
        String id = company + "-" + (nextId++);
        String body = "{\"eventId\":\"" + id + "\",\"companyId\":\"" + company + "\",\"occurredAt\":\""
                + Instant.ofEpochMilli(at) + "\",\"value\":" + value + "}";
        return new EventFixture.Message("metrics." + metric, body, company, id, metric, at, value, true, false);
    }

    @Test
    void everyCompanysWindowsEqualTheRecomputationAfterAKill() throws Exception {
        long now = Instant.now().toEpochMilli();
        List<EventFixture.Message> part1 = new ArrayList<>();
        List<EventFixture.Message> part2 = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            part1.add(metric(A, "sroi", now - 120_000 + i * 100L));                  // A: live, the last 2 minutes
            part1.add(metric(B, "vis", now - 3 * 3_600_000L + i * 3_000L));          // B: 3 h old backlog, 30 min of it
            part1.add(metric(C, "sessions", now - 60_000 + i * 50L));                // C: live
        }
        for (int i = 0; i < 600; i++) {
            part2.add(metric(A, "sroi", now + i * 100L));
            part2.add(metric(B, "vis", now - 3 * 3_600_000L + 1_800_000L + i * 3_000L));
            part2.add(metric(C, "sessions", now - 30 * 60_000L + i * 500L));          // C: 30 min old, too late for C's clock
        }
        try (JobFixture ns = new JobFixture(tmp); EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "768m", Map.of(
                ConfigKey.EVENT_TIME_IDLE_MS.name(), "3000"))) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            String redisPrefix = ns.redisPrefix;
            List<EventFixture.Message> all = new ArrayList<>(part1);
            all.addAll(part2);
            List<Long> sequences = new ArrayList<>();
            runs.play(() -> {
                stream.publishAll(all, 0, part1.size(), sequences);
                Process job = runs.start("run-1.log");
                runs.awaitWhileRunning(job, "run-1.log", "600 events committed", Duration.ofSeconds(120), () -> committed(ch) > 600);
                job.destroyForcibly().waitFor();                                  // kill -9 mid-way
                StreamEntryID restartedAt = redisNow();                           // run 1 published only before this

                stream.publishAll(all, part1.size(), all.size(), sequences);
                runs.start("run-2.log");
                PipelineExpectations expected = new PipelineExpectations(all, sequences, stream.stream);
                await("every event committed").atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> expected.eventsFinal(ch) == expected.distinctValidEvents());
                await("every window equals the recomputation").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> expected.windowMismatches(ch).isEmpty());

                assertThat(runs.log("run-2.log")).contains("resuming from checkpoint");
                assertThat(expected.windowMismatches(ch)).isEmpty();
                assertThat(ch.queryLong("SELECT count() FROM late_events FINAL WHERE company_id = '" + B + "'"))
                        .as("B's backlog is judged by B's own clock: nothing of it is late; late rows: %s",
                                ch.query("SELECT window_size, occurred_at, received_at FROM late_events FINAL WHERE company_id = '"
                                        + B + "' ORDER BY occurred_at LIMIT 5"))
                        .isZero();
                assertThat(ch.queryLong("SELECT count() FROM late_events FINAL WHERE company_id = '" + A + "'")).isZero();
                assertThat(ch.queryLong("SELECT uniqExact(event_id) FROM late_events FINAL WHERE company_id = '" + C + "'"))
                        .as("C's 30-minute-old observations are late for C's clock (audit trail)").isGreaterThan(100);
                assertThat(ch.queryLong("SELECT count() FROM metric_windows FINAL WHERE company_id = '" + B + "' AND final = 1"))
                        .as("B's backlog windows close by B's clock").isGreaterThan(30);
                // a window's final firing reaches Redis at once and ClickHouse with the next checkpoint's commit
                await("ClickHouse holds the highest published versions").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                            assertVersionsOnlyGoUpAndEndAtClickHouse(ch, redisUrl(), redisPrefix, B, restartedAt);
                            assertVersionsOnlyGoUpAndEndAtClickHouse(ch, redisUrl(), redisPrefix, C, restartedAt);
                        });
                expected.assertRawOnce(ch, true, "the embedded job killed with SIGKILL half-way");
            });
        }
    }

    private static String redisUrl() {
        return System.getenv().getOrDefault("REDIS_URL", "redis://127.0.0.1:6379");
    }

    /** Redis's own clock as a stream entry id: every entry added before this call has a smaller id. */
    private static StreamEntryID redisNow() {
        try (Jedis redis = new Jedis(URI.create(redisUrl()))) {
            List<String> time = redis.time();
            return new StreamEntryID(Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000 + 1, 0);
        }
    }

    /**
     * The company's Redis stream (what SSE clients receive, in order): within each run of the job (before the kill,
     * after the restart) every window's versions strictly increase, entry after entry (WindowAggregator's promise); the
     * restarted run replays from the killed one's last checkpoint, so its first versions of a window may lie below ones
     * the killed run published after that checkpoint, but never below one it published itself, and a version published
     * twice carries the same value both times (the restarted run's firings carry later tags,
     * {@link io.csr.job.rows.UpdateVersion}). For every window in metric_windows FINAL there is a live update, and the
     * highest version published equals the version (and count) ClickHouse holds — so a client that keeps the highest
     * version it saw ends on ClickHouse's value, corrections included.
     */
    private static void assertVersionsOnlyGoUpAndEndAtClickHouse(ClickHouseAccess ch, String redisUrl, String prefix,
                                                                   String company, StreamEntryID restartedAt) throws Exception {
        Map<String, Long> highest = new HashMap<>();
        Map<String, Long> countAtHighest = new HashMap<>();
        Map<String, Long> lastInRun = new HashMap<>();
        Map<String, JsonNode> dataOfVersion = new HashMap<>();
        boolean secondRun = false;
        int entries = 0;
        try (Jedis redis = new Jedis(URI.create(redisUrl))) {
            String key = RedisStreams.updatesKey(prefix, company);
            for (StreamEntry e : redis.xrange(key, (StreamEntryID) null, null)) {
                if (!secondRun && e.getID().compareTo(restartedAt) >= 0) {
                    secondRun = true;
                    lastInRun.clear();
                }
                JsonNode data = Json.mapper().readTree(e.getFields().get(RedisStreams.FIELD_DATA));
                String window = data.get("window").asText() + "@" + data.get("windowStart").asText();
                long version = data.get("version").asLong();
                Long previous = lastInRun.put(window, version);
                assertThat(version).as("%s %s: version at entry %s after version %s in the %s run", company, window,
                        e.getID(), previous, secondRun ? "second" : "first").isGreaterThan(previous == null ? -1 : previous);
                JsonNode sameVersion = dataOfVersion.putIfAbsent(window + "#" + version, data);
                assertThat(sameVersion == null ? data : sameVersion).as("%s %s: version %s published again at entry %s",
                        company, window, version, e.getID()).isEqualTo(data);
                entries++;
                Long seen = highest.get(window);
                if (seen == null || version > seen) {
                    highest.put(window, version);
                    countAtHighest.put(window, data.get("count").asLong());
                }
            }
        }
        assertThat(entries).as("live updates of %s", company).isGreaterThan(highest.size());
        int compared = 0;
        for (JsonNode r : ch.query("SELECT window_size, toUnixTimestamp(window_start) AS ws, count, version FROM metric_windows FINAL"
                + " WHERE company_id = '" + company + "'")) {
            String window = r.get("window_size").asText() + "@" + Instant.ofEpochSecond(r.get("ws").asLong());
            assertThat(highest).as("a live update for %s %s", company, window).containsKey(window);
            assertThat(highest.get(window)).as("highest published version of %s %s", company, window)
                    .isEqualTo(r.get("version").asLong());
            assertThat(countAtHighest.get(window)).isEqualTo(r.get("count").asLong());
            compared++;
        }
        assertThat(compared).isPositive();
    }

    private static long committed(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() FROM events");
    }
}
