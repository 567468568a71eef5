package io.csr.job.backfill;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * History H in PostgreSQL {@code event_log} and live traffic L in NATS overlap in time (the same minutes, some events
 * in both). The live job runs (an in-process MiniCluster against the real services); then the backfill runs; then it
 * runs again; then late live events arrive. After each step {@code metric_windows FINAL} equals a recomputation over
 * everything published (H ∪ L, each eventId once), and the live {@code usersFlagged} of every journey flag equals the
 * recomputation over H ∪ L (latest occurredAt per user).
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class BackfillITCase {
    private static final List<String> COMPANIES = List.of("bf-a", "bf-b");

    @TempDir
    Path tmp;

    private final HistoryFixture fx = new HistoryFixture();

    @Test
    void backfillAfterLiveTwiceAndLateLiveAfterAllEqualTheRecomputationOverHistoryAndLive() throws Exception {
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(2);
        long d = day.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli() + 10 * 3_600_000L; // D 10:00
        long now = Instant.now().toEpochMilli();
        List<EventFixture.Message> history = new ArrayList<>();
        List<EventFixture.Message> live = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            for (String c : COMPANIES) {
                history.add(fx.metric(c, "sroi", d + i * 9_000L));                       // D 10:00 .. 11:00
                live.add(fx.metric(c, "sroi", d + 1_800_000L + i * 9_000L));             // D 10:30 .. 11:30: overlapping minutes
            }
        }
        for (int i = 0; i < 60; i++) {
            EventFixture.Message shared = history.get(i * 5);                          // the same event in both
            live.add(shared);
        }
        // bad input in history: it must become dead letters naming the row and the reason, and cost nothing else
        history.add(new EventFixture.Message("metrics.sroi", "{\"eventId\":", "bf-a", "bad-json", null, d, 0, false, false));
        history.add(new EventFixture.Message("metrics.sroi", "{\"eventId\":\"bad-value\",\"companyId\":\"bf-a\",\"occurredAt\":\""
                + Instant.ofEpochMilli(d) + "\",\"value\":\"high\"}", "bf-a", "bad-value", null, d, 0, false, false));
        for (int u = 0; u < 10; u++) {
            history.add(fx.journey("bf-a", "u" + u, true, d + u * 1_000L));              // 10 users flagged in history
        }
        for (int u = 0; u < 3; u++) {
            live.add(fx.journey("bf-a", "u" + u, false, d + 7_200_000L + u * 1_000L));   // 3 of them cleared later, live
        }
        live.add(fx.journey("bf-a", "u-live", true, d + 7_300_000L));                    // one more user, live only
        for (String c : COMPANIES) {
            for (int i = 0; i < 20; i++) {
                live.add(fx.metric(c, "sroi", now - 60_000 + i * 1_000L));               // live now: the clocks move past D
            }
        }
        List<EventFixture.Message> lateLive = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            lateLive.add(fx.metric(COMPANIES.get(i % 2), "sroi", d + 600_000L + i * 30_000L)); // D again, after everything
        }

        try (TestStream stream = new TestStream()) {
            String ns = "it_bf_" + stream.id;
            CsrConfig config = HistoryFixture.config(stream, ns, tmp.resolve("state"));
            PostgresSettings pg = PostgresSettings.from(config);
            try (ClickHouseAccess ch = HistoryFixture.migratedStoresWith(config, history)) {

                StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2,
                        FlinkSettings.job(RuntimeOptions.from(config)));
                JobClient client = JobFixture.job(config).executeAsync(env);
                try {
                    List<Long> sequences = new ArrayList<>();
                    stream.publishAll(live, 0, live.size(), sequences);
                    List<EventFixture.Message> liveOnly = new ArrayList<>(live);
                    HistoryFixture.awaitWindows("live alone", ch, liveOnly);

                    // 1. backfill after live
                    assertThat(BackfillMain.run(new String[] {"--from", day.toString(), "--to", day.toString(), "--parallelism", "2",
                            "--split-hours", "6"}, config)).isZero();
                    List<EventFixture.Message> all = new ArrayList<>(history);
                    all.addAll(live);
                    HistoryFixture.awaitWindows("history ∪ live after the backfill", ch, all);
                    await("journeys of history reach the live job").atMost(Duration.ofSeconds(60))
                            .until(() -> HistoryFixture.latestUsersFlagged(ns + ":", "bf-a") == HistoryFixture.expectedUsersFlagged(all, "bf-a"));
                    Map<String, String> afterFirst = HistoryFixture.windows(ch);
                    List<com.fasterxml.jackson.databind.JsonNode> dead = ch.query("SELECT stream_seq, error FROM dead_letters FINAL"
                            + " WHERE stream = 'event_log' ORDER BY stream_seq");
                    assertThat(dead).as("each bad event_log row is one dead letter, keyed by its id").hasSize(2);
                    assertThat(dead.get(0).get("error").asText()).containsIgnoringCase("JSON");
                    assertThat(dead.get(1).get("error").asText()).contains("value");

                    // 2. the same backfill again changes nothing
                    assertThat(BackfillMain.run(new String[] {"--from", day.toString(), "--to", day.toString()},
                            config)).isZero();
                    assertThat(HistoryFixture.windows(ch)).as("a second run of the same backfill").isEqualTo(afterFirst);
                    assertThat(ch.queryLong("SELECT count() FROM dead_letters FINAL WHERE stream = 'event_log'"))
                            .as("the same bad rows, the same dead letters").isEqualTo(2);

                    // 3. late live events for the backfilled day: corrections keep H ∪ L exact
                    List<EventFixture.Message> liveThenLate = new ArrayList<>(live);
                    liveThenLate.addAll(lateLive); // publishAll's Nats-Msg-Id is the index: continue after the live ones
                    stream.publishAll(liveThenLate, live.size(), liveThenLate.size(), new ArrayList<>());
                    all.addAll(lateLive);
                    HistoryFixture.awaitWindows("after late live events", ch, all);
                    assertThat(HistoryFixture.latestUsersFlagged(ns + ":", "bf-a")).isEqualTo(HistoryFixture.expectedUsersFlagged(all, "bf-a")).isEqualTo(8);
                } finally {
                    client.cancel().get(60, TimeUnit.SECONDS);
                    HistoryFixture.dropNamespace(config, ch, COMPANIES);
                }
            }
        }
    }

}
