package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checkpoints anywhere: the embedded job lists and restores its checkpoints through Flink's FileSystem, so a
 * CHECKPOINT_DIR given as a URI resumes ({@link EmbeddedResumeITCase}, after kill -9), and one on a file system this
 * process lacks stops the job with the scheme and what to install — it never starts from the beginning of the stream.
 * A real child JVM, as {@code bin/csr run job}.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class CheckpointStorageITCase {
    @TempDir
    Path tmp;

    @Test
    void aCheckpointDirOnAnUnsupportedSchemeStopsTheJobWithTheSchemeNamedAndNothingConsumed() throws Exception {
        try (JobFixture ns = new JobFixture(tmp); EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "384m", Map.of(
                ConfigKey.CHECKPOINT_DIR.name(), "s3://csr-no-such-bucket/checkpoints"))) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            stream.publishMetrics("never-", 10);
            Process job = runs.start("s3.log");
            assertThat(job.waitFor(90, TimeUnit.SECONDS)).as("stops by itself; log:\n%s", runs.log("s3.log")).isTrue();
            assertThat(job.exitValue()).isEqualTo(1);
            assertThat(runs.log("s3.log"))
                    .contains("error [job]: CHECKPOINT_DIR=s3://csr-no-such-bucket/checkpoints: this process has no Flink file system for scheme 's3'")
                    .contains("flink-s3-fs-presto").contains("never starts from the beginning of the stream")
                    .doesNotContain("starting from the beginning of the stream");
            assertThat(ch.queryLong("SELECT count() FROM events")).as("nothing consumed").isZero();
        }
    }
}
