package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * with every valid event once and every malformed message once, under FINAL and row for row. With RocksDB a third run
 * resumes from a checkpoint of the second: the second claimed the first's checkpoint (CLAIM restore mode), so its
 * incremental checkpoints build on SST files under the first run's job id, and those must still be there. With the
 * heap backend CHECKPOINT_DIR is given as a {@code file://} URI (checkpoints anywhere Flink can write: the run lists and
 * restores them through Flink's FileSystem, {@link CheckpointStorageITCase} for a scheme it lacks).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class EmbeddedResumeITCase {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void killedEmbeddedJobResumesFromTheLastCheckpointByItself(String stateBackend) throws Exception {
        EventFixture fixture = EventFixture.recent(6_000, 3, 11);
        List<EventFixture.Message> messages = fixture.messages();
        boolean rocksdb = stateBackend.equals("rocksdb");
        Path uriCheckpoints = tmp.resolve("uri-checkpoints");
        Map<String, String> settings = rocksdb ? Map.of(ConfigKey.STATE_BACKEND.name(), stateBackend)
                : Map.of(ConfigKey.STATE_BACKEND.name(), stateBackend, ConfigKey.CHECKPOINT_DIR.name(), "file://" + uriCheckpoints);
        try (JobFixture ns = new JobFixture(tmp); EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "768m", settings)) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            List<Long> sequences = new ArrayList<>();
            runs.play(() -> {
                stream.publishAll(messages, 0, 4_000, sequences);
                Process job = runs.start("run-1.log");
                runs.awaitWhileRunning(job, "run-1.log", "500 events committed", Duration.ofSeconds(120), () -> committed(ch) > 500);
                job.destroyForcibly().waitFor();                           // kill -9, mid-run

                stream.publishAll(messages, 4_000, rocksdb ? 5_000 : messages.size(), sequences);
                job = runs.start("run-2.log");
                if (rocksdb) { // run 2 checkpoints on top of run 1's claimed files; run 3 restores from run 2
                    long before = committed(ch);
                    Process run2 = job;
                    runs.awaitWhileRunning(run2, "run-2.log", "a completed checkpoint and more events committed", Duration.ofSeconds(120),
                            () -> runs.log("run-2.log").contains("Completed checkpoint") && committed(ch) > before);
                    job.destroyForcibly().waitFor();
                    stream.publishAll(messages, 5_000, messages.size(), sequences);
                    runs.start("run-3.log");
                }
                PipelineExpectations all = new PipelineExpectations(messages, sequences, stream.stream);
                await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofMillis(500)).until(() -> all.eventsFinal(ch) == all.distinctValidEvents()
                        && all.deadLetterSequences(ch).size() == all.malformedSequences().size());

                assertThat(runs.log("run-1.log")).contains("no completed checkpoint");
                assertThat(runs.log("run-2.log")).contains("resuming from checkpoint").doesNotContain("starting from the beginning of the stream");
                if (rocksdb) {
                    assertThat(runs.log("run-3.log")).contains("resuming from checkpoint");
                } else {
                    assertThat(runs.log("run-2.log")).as("found and restored through the URI").contains("resuming from checkpoint file:" + uriCheckpoints + "/");
                }
                // claimed (CLAIM restore mode): the checkpoint the last run resumed from is its own now, and is
                // deleted once the run's newer checkpoints subsume it (NO_CLAIM would leave it for ever)
                String last = runs.log(rocksdb ? "run-3.log" : "run-2.log");
                java.util.regex.Matcher resumed = java.util.regex.Pattern.compile("resuming from checkpoint (\\S+) \\(completed").matcher(last);
                assertThat(resumed.find()).as("resume line in:\n%s", last).isTrue();
                Path claimed = Path.of(resumed.group(1).replaceFirst("^file:", ""));
                assertThat(claimed).as("the resumed checkpoint, %s", resumed.group(1)).startsWith(rocksdb ? tmp.resolve("state") : uriCheckpoints);
                await().atMost(Duration.ofSeconds(90)).until(() -> !Files.exists(claimed));
                assertThat(ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL")).isEqualTo(all.distinctValidEvents());
                assertThat(all.deadLetterSequences(ch)).containsExactlyInAnyOrderElementsOf(all.malformedSequences());
                all.assertRawOnce(ch, true, "the embedded job killed with SIGKILL mid-run");
            });
        }
    }

    private static long committed(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() FROM events");
    }
}
