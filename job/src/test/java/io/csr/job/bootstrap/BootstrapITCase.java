package io.csr.job.bootstrap;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.backfill.BackfillTestAccess;
import io.csr.job.runtime.FlinkSettings;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Live after bootstrap: history H in event_log builds the live job's state (bootstrap savepoint); the live job starts
 * from it and live traffic L overlapping H in time (same minutes, some of the very same events, journeys of the same
 * users) arrives. ClickHouse ends with every event once and every window equal to the recomputation over H ∪ L, and
 * usersFlagged equals the recomputation over H ∪ L — the live job knew history's users without reading ClickHouse.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class BootstrapITCase {
    private static final List<String> COMPANIES = List.of("bs-a", "bs-b");

    @TempDir
    Path tmp;

    @Test
    void theLiveJobContinuesFromHistorysStateAndEqualsTheRecomputationOverHistoryAndLive() throws Exception {
        BackfillTestAccess fx = new BackfillTestAccess();
        LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(1);
        long d = day.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli() + 10 * 3_600_000L;
        List<EventFixture.Message> history = new ArrayList<>();
        List<EventFixture.Message> live = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            for (String c : COMPANIES) {
                history.add(fx.metric(c, "vis", d + i * 12_000L));                    // D 10:00 .. 11:00
            }
        }
        for (int u = 0; u < 6; u++) {
            history.add(fx.journey("bs-a", "u" + u, true, d + u * 1_000L));
        }
        for (int i = 0; i < 40; i++) {
            live.add(history.get(i * 7));                                              // the stream also has some of history
        }
        for (int i = 0; i < 200; i++) {
            for (String c : COMPANIES) {
                live.add(fx.metric(c, "vis", d + 3_000_000L + i * 6_000L));           // D 10:50 .. 11:10: overlapping
            }
        }
        live.add(fx.journey("bs-a", "u0", false, d + 5_000_000L));                    // a history user cleared live
        live.add(fx.journey("bs-a", "u-new", true, d + 5_000_000L));

        try (TestStream stream = new TestStream()) {
            String ns = "it_bs_" + stream.id;
            CsrConfig config = fx.config(stream, ns, tmp.resolve("state"));
            PostgresSettings pg = PostgresSettings.from(config);
            try (ClickHouseAccess ch = fx.migratedStoresWith(config, history)) {
                JobClient client = null;
                try {
                    String savepoint = BootstrapMain.run(new String[] {"--until", day.toString(), "--parallelism", "2"}, config,
                            Clock.systemUTC());
                    assertThat(Path.of(savepoint, "_metadata")).exists();
                    assertThat(io.csr.job.runtime.RestorePoints.isBootstrap(savepoint)).as("marked as a bootstrap savepoint").isTrue();
                    assertThat(io.csr.job.runtime.RestorePoints.latest(null, tmp.resolve("state").resolve("savepoints")))
                            .as("bin/csr start would pick it").hasValueSatisfying(c -> assertThat(new org.apache.flink.core.fs.Path(c.dir()).getPath()).isEqualTo(savepoint));
                    RuntimeOptions runtime = RuntimeOptions.from(config);
                    Configuration flink = FlinkSettings.job(runtime);
                    flink.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
                    // what FlinkSettings.embedded and submit do for a bootstrap savepoint (the history source's state)
                    flink.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
                    flink.set(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY, "none"); // a failed restore fails the test
                    client = JobFixture.job(config).executeAsync(StreamExecutionEnvironment.createLocalEnvironment(2, flink));
                    stream.publishAll(live, 0, live.size(), new ArrayList<>());
                    java.util.concurrent.CompletableFuture<?> ended = client.getJobExecutionResult();
                    await("the live job runs from the bootstrap savepoint").atMost(Duration.ofSeconds(60))
                            .until(() -> ch.queryLong("SELECT count() FROM events FINAL") > history.size() || ended.isDone());
                    if (ended.isDone()) {
                        ended.get(); // throws the cause
                    }
                    List<EventFixture.Message> all = new ArrayList<>(history);
                    all.addAll(live);
                    fx.awaitWindows("history ∪ live", ch, all);
                    await("usersFlagged over history ∪ live").atMost(Duration.ofSeconds(60))
                            .until(() -> fx.latestUsersFlagged(ns + ":", "bs-a") == fx.expectedUsersFlagged(all, "bs-a"));
                    assertThat(fx.expectedUsersFlagged(all, "bs-a")).isEqualTo(6);
                    assertThat(ch.queryLong("SELECT count() FROM events WHERE event_id IN ('m-0', 'm-7')"))
                            .as("the stream's copies of history events were dropped by the bootstrapped dedup state, not inserted again")
                            .isLessThanOrEqualTo(2);

                    // bootstrap is for fresh deployments: with live checkpoints present it refuses
                    Files.createDirectories(tmp.resolve("state"));
                    await().atMost(Duration.ofSeconds(30)).until(() -> hasCheckpoint(tmp.resolve("state").resolve("checkpoints")));
                    assertThatThrownBy(() -> BootstrapMain.run(new String[] {"--until", day.toString()}, config, Clock.systemUTC()))
                            .hasMessageContaining("fresh").hasMessageContaining("bin/csr backfill");
                } finally {
                    if (client != null) {
                        try {
                            client.cancel().get(60, TimeUnit.SECONDS);
                        } catch (Exception alreadyEnded) {
                            // the job ended by itself (a failure the assertions report)
                        }
                    }
                    fx.dropNamespace(config, ch, COMPANIES);
                }
            }
        }
    }

    private static boolean hasCheckpoint(Path root) {
        try (var walk = Files.walk(root, 3)) {
            return walk.anyMatch(p -> p.getFileName().toString().startsWith("chk-") && Files.exists(p.resolve("_metadata")));
        } catch (Exception e) {
            return false;
        }
    }
}
