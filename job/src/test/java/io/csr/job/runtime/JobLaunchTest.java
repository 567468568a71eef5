package io.csr.job.runtime;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.contrib.streaming.state.RocksDBConfigurableOptions;
import org.apache.flink.contrib.streaming.state.RocksDBOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobLaunchTest {
    @TempDir
    Path state;

    private CsrConfig config() {
        return CsrConfig.of(Map.of(ConfigKey.CSR_STATE_DIR.name(), state.toString(),
                ConfigKey.FLINK_REST_URL.name(), "http://127.0.0.1:18081"));
    }

    @Test
    void embeddedRunIsExactlyOnceWithRetainedCheckpointsUnderTheStateDir() {
        RuntimeOptions o = RuntimeOptions.from(config());
        Configuration c = FlinkSettings.embedded(o, null);

        assertThat(c.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE)).isEqualTo(CheckpointingMode.EXACTLY_ONCE);
        assertThat(c.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
                .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        assertThat(c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).isEqualTo(Duration.ofMillis(5000));
        assertThat(c.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isEqualTo(state.resolve("checkpoints").toUri().toString());
        assertThat(c.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).isEqualTo(state.resolve("savepoints").toUri().toString());
        assertThat(c.get(RestOptions.PORT)).isEqualTo(18081);
        assertThat(c.getOptional(StateRecoveryOptions.SAVEPOINT_PATH)).isEmpty();
    }

    @Test
    void rocksDbCheckpointsAreIncrementalAndTheHeapBackendLeavesTheFlagAlone() {
        // measured, not only configured: the preload benchmark's checkpoint directories hold shared/ SST files
        // (perf/job-ingest/README.md); a full RocksDB snapshot per checkpoint would grow with the 24 h of dedup ids
        Configuration rocks = FlinkSettings.job(RuntimeOptions.from(config().with(ConfigKey.STATE_BACKEND, "rocksdb")));
        assertThat(rocks.get(StateBackendOptions.STATE_BACKEND)).isEqualTo("rocksdb");
        assertThat(rocks.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS)).isTrue();
        assertThat(rocks.get(RocksDBConfigurableOptions.USE_BLOOM_FILTER)).as("dedup lookups miss: bloom filters").isTrue();
        assertThat(rocks.get(RocksDBOptions.USE_PARTITIONED_INDEX_FILTERS)).as("filters larger than the cache").isTrue();
        assertThat(rocks.get(RocksDBConfigurableOptions.MAX_BACKGROUND_THREADS)).as("compactions of one operator "
                + "must not starve another's").isEqualTo(4);
        assertThat(rocks.get(RocksDBOptions.OPTIONS_FACTORY)).isEqualTo(CsrRocksDbOptions.class.getName());
        assertThat(FlinkSettings.embedded(RuntimeOptions.from(config().with(ConfigKey.STATE_BACKEND, "rocksdb")), null)
                .get(TaskManagerOptions.MANAGED_MEMORY_SIZE)).isEqualTo(MemorySize.ofMebiBytes(512));
        assertThatThrownBy(() -> RuntimeOptions.from(config().with(ConfigKey.FLINK_MANAGED_MEMORY_MB, "10")))
                .hasMessageContaining("FLINK_MANAGED_MEMORY_MB");
        assertThat(FlinkSettings.job(RuntimeOptions.from(config())).getOptional(CheckpointingOptions.INCREMENTAL_CHECKPOINTS)).isEmpty();
    }

    @Test
    void nonLiveRecordsWaitUpToFlinksHundredMillisecondsInNetworkBuffers() {
        // live events do not wait for the timeout (LiveFlush, LiveFlushITCase), so it only trades backlog throughput
        StreamExecutionEnvironment env = JobLaunch.parse(new String[]{"--embedded", "--fresh"}, config()).environment();
        assertThat(env.getBufferTimeout()).isEqualTo(100);

        StreamExecutionEnvironment zero = JobLaunch.parse(new String[]{"--embedded", "--fresh", "FLINK_BUFFER_TIMEOUT_MS=0"},
                config()).environment();
        assertThat(zero.getBufferTimeout()).isZero();
        assertThat(FlinkSettings.job(RuntimeOptions.from(config())).get(ExecutionOptions.BUFFER_TIMEOUT)).isEqualTo(Duration.ofMillis(100));
        assertThatThrownBy(() -> RuntimeOptions.from(config().with(ConfigKey.FLINK_BUFFER_TIMEOUT_MS, "-1")))
                .hasMessageContaining("FLINK_BUFFER_TIMEOUT_MS");
    }

    @Test
    void maxParallelismIsAdoptedFromTheRestoredSavepointUnlessSetAndTheDefaultOtherwise() throws Exception {
        String savepoint = io.csr.job.testing.SavepointFiles.keyed(state.resolve("savepoint-old"), 128).toUri().toString();
        JobLaunch fresh = JobLaunch.parse(new String[]{"--embedded", "--fresh"}, config());
        fresh.environment();
        assertThat(fresh.config().get(ConfigKey.MAX_PARALLELISM)).isEqualTo("1024");

        JobLaunch restored = JobLaunch.parse(new String[]{"--embedded", "--from-savepoint", savepoint}, config());
        restored.environment();
        assertThat(RuntimeOptions.from(restored.config()).maxParallelism()).as("adopted, MAX_PARALLELISM not set").isEqualTo(128);

        JobLaunch same = JobLaunch.parse(new String[]{"--embedded", "--from-savepoint", savepoint, "MAX_PARALLELISM=128"}, config());
        same.environment();
        assertThat(same.config().get(ConfigKey.MAX_PARALLELISM)).isEqualTo("128");

        assertThatThrownBy(() -> JobLaunch.parse(new String[]{"--embedded", "--from-savepoint", savepoint, "MAX_PARALLELISM=1024"},
                config()).environment()).hasMessageContaining("max parallelism 128").hasMessageContaining("MAX_PARALLELISM=1024 is set");
    }

    @Test
    void badRuntimeSettingsNameTheKey() {
        assertThatThrownBy(() -> RuntimeOptions.from(config().with(ConfigKey.STATE_BACKEND, "memory")))
                .hasMessageContaining("STATE_BACKEND='memory'");
        assertThatThrownBy(() -> RuntimeOptions.from(config().with(Map.of(ConfigKey.JOB_PARALLELISM.name(), "8",
                ConfigKey.MAX_PARALLELISM.name(), "4")))).hasMessageContaining("MAX_PARALLELISM=4");
        assertThatThrownBy(() -> JobLaunch.parse(new String[]{"--bogus"}, config())).hasMessageContaining("--bogus");
    }

    @Test
    void argumentsOverrideTheEnvironment() {
        JobLaunch launch = JobLaunch.parse(new String[]{"--embedded", "JOB_PARALLELISM=3"}, config());

        assertThat(launch.embedded()).isTrue();
        assertThat(launch.config().get(ConfigKey.JOB_PARALLELISM)).isEqualTo("3");
    }

    @Test
    void embeddedRunResumesFromTheNewestCompletedCheckpoint() throws Exception {
        Path checkpoints = state.resolve("checkpoints");
        completed(checkpoints.resolve("job-a/chk-7"), 7, Instant.parse("2026-11-27T10:00:00Z"));
        completed(checkpoints.resolve("job-b/chk-9"), 9, Instant.parse("2026-11-27T10:05:00Z"));
        Files.createDirectories(checkpoints.resolve("job-b/chk-10"));       // in flight when the process died
        Path truncated = checkpoints.resolve("job-b/chk-11");                 // _metadata cut short
        Files.createDirectories(truncated);
        Files.write(truncated.resolve("_metadata"), new byte[]{1, 2, 3});
        Files.setLastModifiedTime(truncated.resolve("_metadata"), FileTime.from(Instant.parse("2026-11-27T10:06:00Z")));

        JobLaunch launch = JobLaunch.parse(new String[]{"--embedded"}, config());

        assertThat(launch.restorePath(RuntimeOptions.from(launch.config())))
                .contains(flinkUri(checkpoints.resolve("job-b/chk-9")));
        assertThat(launch.claimsRestore(checkpoints.resolve("job-b/chk-9").toUri().toString()))
                .as("its own checkpoint is claimed: the first checkpoint after the restart stays incremental").isTrue();
    }

    @Test
    void aNewerSavepointWinsAndExplicitOrFreshOverride() throws Exception {
        completed(state.resolve("checkpoints/job-a/chk-3"), 3, Instant.parse("2026-11-27T10:00:00Z"));
        Path savepoint = state.resolve("savepoints/savepoint-abc-123");
        completed(savepoint, 4, Instant.parse("2026-11-27T10:01:00Z"));
        RuntimeOptions o = RuntimeOptions.from(config());

        assertThat(JobLaunch.parse(new String[]{"--embedded"}, config()).restorePath(o)).contains(flinkUri(savepoint));
        assertThat(JobLaunch.parse(new String[]{"--embedded"}, config()).claimsRestore(savepoint.toUri().toString()))
                .as("a savepoint stays the user's").isFalse();
        String named = state.resolve("checkpoints/job-a/chk-3").toUri().toString();
        assertThat(JobLaunch.parse(new String[]{"--embedded", "--from-savepoint", named}, config()).claimsRestore(named))
                .as("a checkpoint named with --from-savepoint stays the user's").isFalse();
        assertThat(JobLaunch.parse(new String[]{"--embedded", "--fresh"}, config()).restorePath(o)).isEmpty();
        assertThat(JobLaunch.parse(new String[]{"--embedded", "--from-savepoint", "/x/sp"}, config()).restorePath(o)).contains("/x/sp");
        assertThat(JobLaunch.parse(new String[0], config()).restorePath(o)).as("a submitted job restores only when told").isEmpty();
    }

    /**
     * CHECKPOINT_DIR given as a URI: listed and read through Flink's FileSystem, as s3://… would be where its plugin is
     * installed (the old code listed only java.nio paths and started a non-local directory from the stream's beginning).
     */
    @Test
    void aCheckpointDirGivenAsAFileUriIsListedThroughFlinksFileSystem() throws Exception {
        Path root = state.resolve("elsewhere");
        completed(root.resolve("job-a/chk-5"), 5, Instant.parse("2026-11-27T10:00:00Z"));
        CsrConfig uriConfig = config().with(ConfigKey.CHECKPOINT_DIR, "file://" + root);

        assertThat(JobLaunch.parse(new String[]{"--embedded"}, uriConfig).restorePath(RuntimeOptions.from(uriConfig)))
                .contains(flinkUri(root.resolve("job-a/chk-5")));
        assertThat(RestorePoints.latest(root.toUri().toString(), null)).hasValueSatisfying(c -> assertThat(c.name()).isEqualTo("chk-5"));
    }

    @Test
    void aCheckpointDirOnAFileSystemThisProcessLacksStopsTheLaunchNamingTheSchemeAndWhatToInstall() {
        CsrConfig s3 = config().with(ConfigKey.CHECKPOINT_DIR, "s3://csr-bucket/ckpt");
        assertThatThrownBy(() -> JobLaunch.parse(new String[]{"--embedded"}, s3).environment())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CHECKPOINT_DIR=s3://csr-bucket/ckpt: this process has no Flink file system for scheme 's3'")
                .hasMessageContaining("flink-s3-fs-presto").hasMessageContaining("FLINK_PLUGINS_DIR")
                .hasMessageContaining("never starts from the beginning of the stream");
        CsrConfig madeUp = config().with(ConfigKey.SAVEPOINT_DIR, "nosuchfs://x/savepoints");
        assertThatThrownBy(() -> JobLaunch.parse(new String[]{"--embedded", "--fresh"}, madeUp).environment())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("SAVEPOINT_DIR=nosuchfs://x/savepoints: this process has no Flink file system for scheme 'nosuchfs'");
    }

    private static String flinkUri(Path dir) {
        return "file:" + dir.toAbsolutePath();   // how Flink's Path writes a local directory
    }

    @Test
    void nothingRetainedMeansAFreshStart() {
        assertThat(JobLaunch.parse(new String[]{"--embedded"}, config()).restorePath(RuntimeOptions.from(config()))).isEmpty();
    }

    private static void completed(Path dir, long id, Instant at) throws Exception {
        Files.createDirectories(dir);
        Path metadata = dir.resolve("_metadata");
        try (OutputStream out = Files.newOutputStream(metadata)) {
            Checkpoints.storeCheckpointMetadata(new CheckpointMetadata(id, List.of(), List.of()), new DataOutputStream(out));
        }
        Files.setLastModifiedTime(metadata, FileTime.from(at));
    }
}
