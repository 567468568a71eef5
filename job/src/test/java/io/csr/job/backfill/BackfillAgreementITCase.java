package io.csr.job.backfill;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
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
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 27: the backfill and the live job agree on every window, whoever wrote it last.
 *
 * <p>The scenario: a fresh company's producer replays yesterday's 12:40–13:00 (300 events, published now), so
 * the live job holds that company's 12:00 window open in its per-company clock; its history for 10:00–13:00 (1,500
 * rows, 30 of them the same events as replayed ones) is in {@code event_log}. Then stragglers for 12:59 arrive before
 * the backfill, between two backfills and after them (within the allowed lateness), plus some for 10:05 (beyond it);
 * then the live job is restarted from a savepoint taken before any backfill (it reads the stragglers and the
 * backfills' notices again) and one more straggler batch arrives. Journey flags run through the same steps. Then a
 * second company with live traffic today backfills today ({@code --from today --to today}) and keeps receiving live
 * events. After every step every 1m/1h/1d window of {@code metric_windows FINAL} equals the recomputation over
 * everything published (history ∪ live, each event once), and {@code usersFlagged} the latest flag per user.
 */
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class BackfillAgreementITCase {
    private static final String REPLAYING = "bfx";
    private static final String TODAY = "bft";

    @TempDir
    Path tmp;

    private final HistoryFixture fx = new HistoryFixture();
    /** Everything published to the live stream, in order (TestStream's message ids are the indices). */
    private final List<EventFixture.Message> live = new ArrayList<>();
    /** Everything ClickHouse must count: live, and history once it was backfilled. */
    private final List<EventFixture.Message> all = new ArrayList<>();

    @Test
    void everyWindowEqualsTheRecomputationThroughStragglersTwoBackfillsARestoreAndABackfillOfToday() throws Exception {
        LocalDate yesterday = LocalDate.now(ZoneOffset.UTC).minusDays(1);
        long d = yesterday.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        long h10 = d + 10 * 3_600_000L;
        long h1240 = d + 12 * 3_600_000L + 40 * 60_000L;
        long h1259 = d + 12 * 3_600_000L + 59 * 60_000L;

        List<EventFixture.Message> history = new ArrayList<>();
        for (int i = 0; i < 1_500; i++) {
            history.add(fx.metric(REPLAYING, "sroi", h10 + i * 7_200L));                // 10:00 .. 12:59:52
        }
        for (int u = 0; u < 10; u++) {
            history.add(fx.journey(REPLAYING, "u" + u, true, h10 + u * 1_000L));          // 10 users flagged in history
        }
        List<EventFixture.Message> replay = new ArrayList<>();
        for (int i = 0; i < 270; i++) {
            replay.add(fx.metric(REPLAYING, "sroi", h1240 + i * 4_400L));               // 12:40 .. 12:59:48
        }
        List<EventFixture.Message> shared = history.stream().filter(m -> m.metric() != null && m.occurredAtMs() >= h1240)
                .limit(30).toList();
        replay.addAll(shared);                                                          // 30 replayed events also in history
        replay.sort(java.util.Comparator.comparingLong(EventFixture.Message::occurredAtMs));

        try (TestStream stream = new TestStream()) {
            String ns = "it_bfa_" + stream.id;
            CsrConfig config = HistoryFixture.config(stream, ns, tmp.resolve("state"));
            PostgresSettings pg = PostgresSettings.from(config);
            try (ClickHouseAccess ch = HistoryFixture.migratedStoresWith(config, history)) {
                JobClient client = start(config, null);
                try {
                    publish(stream, replay);
                    HistoryFixture.awaitWindows("the replayed backlog, live alone", ch, all);
                    String beforeAnyBackfill = client.triggerSavepoint(tmp.resolve("savepoints").toUri().toString(),
                            SavepointFormatType.CANONICAL).get(3, TimeUnit.MINUTES);

                    publish(stream, stragglers(h1259, 5));
                    HistoryFixture.awaitWindows("stragglers before the backfill", ch, all);

                    backfill(config, yesterday.minusDays(1), yesterday, REPLAYING);
                    all.addAll(history);
                    HistoryFixture.awaitWindows("history ∪ live after the first backfill", ch, all);

                    // the case: the live job still holds 12:00 open; these must raise the backfilled window
                    List<EventFixture.Message> between = new ArrayList<>(stragglers(h1259, 5));
                    between.add(fx.journey(REPLAYING, "u0", false, h1259 + 1_000L));
                    between.add(fx.journey(REPLAYING, "u1", false, h1259 + 2_000L));
                    publish(stream, between);
                    HistoryFixture.awaitWindows("stragglers between two backfills", ch, all);

                    backfill(config, yesterday.minusDays(1), yesterday, REPLAYING);
                    HistoryFixture.awaitWindows("after the second backfill", ch, all);

                    List<EventFixture.Message> after = new ArrayList<>(stragglers(h1259, 5));  // within the lateness
                    after.addAll(stragglers(h10 + 5 * 60_000L, 3));                           // beyond it: corrections
                    publish(stream, after);
                    HistoryFixture.awaitWindows("stragglers after both backfills, within and beyond the lateness", ch, all);
                    awaitUsersFlagged(ns, 8);
                    assertThat(ch.queryLong("SELECT count() FROM late_events FINAL WHERE company_id = '" + REPLAYING + "'"))
                            .as("the 10:05 stragglers missed their minute window's lateness").isPositive();

                    // a restart from a savepoint taken before any backfill: stragglers and notices are read again
                    client.cancel().get(60, TimeUnit.SECONDS);
                    client = start(config, beforeAnyBackfill);
                    publish(stream, stragglers(h1259, 5));
                    HistoryFixture.awaitWindows("restored from before the backfills, then more stragglers", ch, all);
                    awaitUsersFlagged(ns, 8);

                    backfillOfToday(stream, config, ch, pg);
                } finally {
                    client.cancel().get(60, TimeUnit.SECONDS);
                    HistoryFixture.dropNamespace(config, ch, List.of(REPLAYING, TODAY));
                }
            }
        }
    }

    /**
     * {@code --from today --to today} for a company with live traffic today: no wall-clock guard, and the windows stay
     * exact as live events keep arriving (the minute, hour and day windows it shares with history among them).
     */
    private void backfillOfToday(TestStream stream, CsrConfig config, ClickHouseAccess ch, PostgresSettings pg) throws Exception {
        long now = System.currentTimeMillis();
        long todayStart = LocalDate.now(ZoneOffset.UTC).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        long historyFrom = Math.max(todayStart, now - 3 * 3_600_000L);
        // today's history ends 20 minutes ago, or, in the first 40 minutes of a UTC day, halfway between midnight and
        // now: it must lie in today, which --from today --to today backfills (a run at 00:02 had it end yesterday)
        long historyTo = Math.max(now - 20 * 60_000L, todayStart + (now - todayStart) / 2);
        List<EventFixture.Message> history = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            history.add(fx.metric(TODAY, "sroi", historyFrom + (historyTo - historyFrom) * i / 200));
        }
        HistoryFixture.writeEventLog(pg, history);
        List<EventFixture.Message> liveToday = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            liveToday.add(fx.metric(TODAY, "sroi", now - 30 * 60_000L + i * 30_000L));   // overlaps history's last 10 min
        }
        liveToday.addAll(history.subList(190, 200));                                       // the same events in both
        liveToday.sort(java.util.Comparator.comparingLong(EventFixture.Message::occurredAtMs));
        publish(stream, liveToday);
        HistoryFixture.awaitWindows("today, live alone", ch, all);

        LocalDate today = LocalDate.ofInstant(Instant.ofEpochMilli(historyTo), ZoneOffset.UTC);
        backfill(config, today, today, TODAY);
        all.addAll(history);
        HistoryFixture.awaitWindows("today backfilled while live", ch, all);

        List<EventFixture.Message> more = new ArrayList<>();
        long at = System.currentTimeMillis();
        for (int i = 0; i < 20; i++) {
            more.add(fx.metric(TODAY, "sroi", at - 20 * 60_000L + i * 1_000L));          // a minute history also has
        }
        for (int i = 0; i < 20; i++) {
            more.add(fx.metric(TODAY, "sroi", at - 10_000L + i * 500L));                 // live now
        }
        publish(stream, more);
        HistoryFixture.awaitWindows("live events after the backfill of today", ch, all);
    }

    private List<EventFixture.Message> stragglers(long at, int n) {
        List<EventFixture.Message> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(fx.metric(REPLAYING, "sroi", at + i * 7_000L));
        }
        return out;
    }

    private void publish(TestStream stream, List<EventFixture.Message> batch) throws Exception {
        int from = live.size();
        live.addAll(batch);
        all.addAll(batch);
        stream.publishAll(live, from, live.size(), new ArrayList<>());
    }

    private void awaitUsersFlagged(String ns, long expected) {
        assertThat(HistoryFixture.expectedUsersFlagged(all, REPLAYING)).isEqualTo(expected);
        await("usersFlagged of " + REPLAYING).atMost(Duration.ofSeconds(60))
                .until(() -> HistoryFixture.latestUsersFlagged(ns + ":", REPLAYING) == expected);
    }

    private static void backfill(CsrConfig config, LocalDate from, LocalDate to, String company) throws Exception {
        assertThat(BackfillMain.run(new String[] {"--from", from.toString(), "--to", to.toString(), "--companies", company,
                "--parallelism", "2", "--split-hours", "6"}, config)).isZero();
    }

    private static JobClient start(CsrConfig config, String savepoint) throws Exception {
        Configuration flink = FlinkSettings.job(RuntimeOptions.from(config));
        if (savepoint != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        return JobFixture.job(config).executeAsync(StreamExecutionEnvironment.createLocalEnvironment(2, flink));
    }
}
