package io.csr.job.runtime;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.contrib.streaming.state.RocksDBConfigurableOptions;
import org.apache.flink.contrib.streaming.state.RocksDBOptions;
import org.apache.flink.core.execution.CheckpointingMode;

import java.time.Duration;

/** The Flink {@link Configuration} the job needs, derived from {@link RuntimeOptions}; one place for every Flink key. */
public final class FlinkSettings {
    /** Checkpoints kept on disk; more than one so a last checkpoint cut short by a crash still leaves one to resume from. */
    static final int RETAINED_CHECKPOINTS = 3;

    private FlinkSettings() {
    }

    /** Exactly-once checkpointing, retained checkpoints, state backend and restart strategy (every run mode). */
    public static Configuration job(RuntimeOptions o) {
        Configuration c = new Configuration();
        c.set(CoreOptions.DEFAULT_PARALLELISM, o.parallelism());
        c.set(ExecutionOptions.BUFFER_TIMEOUT, Duration.ofMillis(o.bufferTimeoutMs()));
        c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(o.checkpointIntervalMs()));
        c.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        c.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, Duration.ofMillis(o.checkpointTimeoutMs()));
        c.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        c.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, RETAINED_CHECKPOINTS);
        c.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, 3);
        c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, o.checkpointDir());
        c.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, o.savepointDir());
        c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        c.set(StateBackendOptions.STATE_BACKEND, o.stateBackend());
        if ("rocksdb".equals(o.stateBackend())) {
            c.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
            // nearly every dedup lookup is for an id never seen: a bloom filter answers "absent" without reading a
            // block from every level (off by default in Flink)
            c.set(RocksDBConfigurableOptions.USE_BLOOM_FILTER, true);
            // at 24 h of ids the filters and indexes outgrow the block cache: partitioned, a lookup loads one 4 KB
            // partition instead of a whole SST file's multi-megabyte filter (the top level stays pinned)
            c.set(RocksDBOptions.USE_PARTITIONED_INDEX_FILTERS, true);
            // RocksDB's compaction threads are shared by every operator's instance in the process: with Flink's 2 (one
            // compaction thread) the dedup's compactions starved the windows', whose writes then stalled the pipeline
            c.set(RocksDBConfigurableOptions.MAX_BACKGROUND_THREADS, 4);
            c.set(RocksDBOptions.OPTIONS_FACTORY, CsrRocksDbOptions.class.getName());
        }
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, o.restartAttempts());
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(o.restartDelayMs()));
        return c;
    }

    /** {@link #job} plus what the embedded MiniCluster needs: its REST endpoint on FLINK_REST_URL's port, a restore point. */
    public static Configuration embedded(RuntimeOptions o, String restorePath) {
        Configuration c = job(o);
        c.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(o.managedMemoryMb()));
        c.set(RestOptions.BIND_ADDRESS, o.restUrl().getHost());
        c.set(RestOptions.ADDRESS, o.restUrl().getHost());
        c.set(RestOptions.PORT, o.restUrl().getPort());
        c.set(RestOptions.BIND_PORT, String.valueOf(o.restUrl().getPort()));
        if (restorePath != null) {
            c.set(StateRecoveryOptions.SAVEPOINT_PATH, restorePath);
            // a bootstrap savepoint also holds its history source's state, which the live job leaves unclaimed
            c.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, RestorePoints.isBootstrap(restorePath));
        }
        return c;
    }
}
