package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.FlinkStandaloneCluster;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code csr run job} semantics: the embedded job process is killed with SIGKILL mid-run and started again with the
 * very same command line; it finds the newest completed checkpoint by itself, says so in its log, and ClickHouse ends
 * with every valid event once and every malformed message once.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class EmbeddedResumeITCase {
    @TempDir
    Path tmp;

    @Test
    void killedEmbeddedJobResumesFromTheLastCheckpointByItself() throws Exception {
        EventFixture fixture = new EventFixture(6_000, 3, Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(),
                Duration.ofMinutes(5).toMillis(), 0.05, 0.02, 11);
        List<EventFixture.Message> messages = fixture.messages();
        try (TestStream stream = new TestStream()) {
            ClickHouseSettings chSettings = ClickHouseSettings.from(CsrConfig.fromEnvironment()).withDatabase("csr_it_" + stream.id);
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                EmbeddedJobProcess runs = new EmbeddedJobProcess(stream, tmp, "768m", Map.of(
                        ConfigKey.CLICKHOUSE_DATABASE.name(), chSettings.database(),
                        ConfigKey.REDIS_KEY_PREFIX.name(), "it_" + stream.id + ":"));
                List<Long> sequences = new ArrayList<>();
                Process job = null;
                try {
                    stream.publishAll(messages, 0, 4_000, sequences);
                    job = runs.start("run-1.log");
                    Process first = job;
                    await().atMost(Duration.ofSeconds(120)).until(() -> !first.isAlive() || committed(ch) > 500);
                    assertThat(first.isAlive()).as("first run alive; log:\n%s", runs.log("run-1.log")).isTrue();
                    job.destroyForcibly().waitFor();                           // kill -9, mid-run

                    stream.publishAll(messages, 4_000, messages.size(), sequences);
                    job = runs.start("run-2.log");
                    PipelineExpectations all = new PipelineExpectations(messages, sequences, stream.stream);
                    await().atMost(Duration.ofSeconds(150)).until(() -> all.eventsFinal(ch) == all.distinctValidEvents()
                            && all.deadLetterSequences(ch).size() == all.malformedSequences().size());

                    assertThat(runs.log("run-1.log")).contains("no completed checkpoint");
                    assertThat(runs.log("run-2.log")).contains("resuming from checkpoint");
                    assertThat(ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL")).isEqualTo(all.distinctValidEvents());
                    assertThat(all.deadLetterSequences(ch)).containsExactlyInAnyOrderElementsOf(all.malformedSequences());
                } catch (Throwable t) {
                    System.err.println(runs.log("run-1.log") + "\n-----\n" + runs.log("run-2.log"));
                    throw t;
                } finally {
                    EmbeddedJobProcess.stop(job);
                    ch.dropDatabase();
                }
            }
        }
    }

    private static long committed(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() FROM events");
    }
}
