package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Checkpoints anywhere: the embedded job lists and restores its checkpoints through Flink's FileSystem, so a
 * CHECKPOINT_DIR given as a URI resumes, and one on a file system this process lacks stops the job with the scheme and
 * what to install — it never starts from the beginning of the stream. Real child JVMs, as {@code bin/csr run job}.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class CheckpointStorageITCase {
    @TempDir
    Path tmp;

    @Test
    void aCheckpointDirOnAnUnsupportedSchemeStopsTheJobWithTheSchemeNamedAndNothingConsumed() throws Exception {
        try (JobFixture ns = new JobFixture(tmp)) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            stream.publishMetrics("never-", 10);
            Process job = null;
            EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "384m", Map.of(
                    ConfigKey.CHECKPOINT_DIR.name(), "s3://csr-no-such-bucket/checkpoints"));
            try {
                job = runs.start("s3.log");
                assertThat(job.waitFor(90, TimeUnit.SECONDS)).as("stops by itself; log:\n%s", runs.log("s3.log")).isTrue();
                assertThat(job.exitValue()).isEqualTo(1);
                assertThat(runs.log("s3.log"))
                        .contains("error [job]: CHECKPOINT_DIR=s3://csr-no-such-bucket/checkpoints: this process has no Flink file system for scheme 's3'")
                        .contains("flink-s3-fs-presto").contains("never starts from the beginning of the stream")
                        .doesNotContain("starting from the beginning of the stream");
                assertThat(ch.queryLong("SELECT count() FROM events")).as("nothing consumed").isZero();
            } finally {
                EmbeddedJobProcess.stop(job);
            }
        }
    }

    @Test
    void aCheckpointDirGivenAsAFileUriResumesAfterKillMinus9() throws Exception {
        try (JobFixture ns = new JobFixture(tmp)) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            Path checkpoints = tmp.resolve("uri-checkpoints");
            String uri = "file://" + checkpoints;
            EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "384m", Map.of(
                    ConfigKey.CHECKPOINT_DIR.name(), uri));
            Process job = null;
            try {
                stream.publishMetrics("first-", 20);
                job = runs.start("run-1.log");
                runs.awaitWhileRunning(job, "run-1.log", "20 events committed", Duration.ofSeconds(150),
                        () -> ch.queryLong("SELECT count() FROM events FINAL") == 20);
                await().atMost(Duration.ofSeconds(60)).until(() -> completedCheckpoints(checkpoints) > 0);
                job.destroyForcibly().waitFor();

                stream.publishMetrics("second-", 10);
                job = runs.start("run-2.log");
                runs.awaitWhileRunning(job, "run-2.log", "30 events committed", Duration.ofSeconds(150),
                        () -> ch.queryLong("SELECT count() FROM events FINAL") == 30);
                assertThat(runs.log("run-2.log")).contains("resuming from checkpoint file:" + checkpoints + "/")
                        .doesNotContain("starting from the beginning of the stream");
                assertThat(ch.queryLong("SELECT count() FROM events FINAL WHERE event_id LIKE 'first-%'")).isEqualTo(20);
            } catch (Throwable t) {
                System.err.println(runs.log("run-1.log") + "\n-----\n" + runs.log("run-2.log"));
                throw t;
            } finally {
                EmbeddedJobProcess.stop(job);
            }
        }
    }

    /** chk-N directories with a _metadata under {@code root}/&lt;job id&gt;/. */
    private static long completedCheckpoints(Path root) throws Exception {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(root, 3)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata") && p.getParent().getFileName().toString().startsWith("chk-")).count();
        }
    }
}
