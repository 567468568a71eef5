package io.csr.job.runtime;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.source.EventSourceBuilder;
import io.csr.job.upgrade.MaxParallelismChoice;
import io.csr.job.upgrade.SavepointCompatibility;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * The command line of {@code CsrJob.main} (options in {@link JobLaunchCommand}): where the job runs and what it restores.
 * <ul>
 *   <li>{@code --embedded}: a MiniCluster in this process (what {@code csr run job} uses). Without
 *       {@code --from-savepoint} it resumes by itself from the newest completed checkpoint or savepoint under
 *       CHECKPOINT_DIR / SAVEPOINT_DIR, so a killed process started again continues where the last checkpoint was.</li>
 *   <li>no flag: the environment of whoever runs main, i.e. a Flink cluster when submitted there.</li>
 *   <li>{@code --from-savepoint PATH}: restore from that savepoint or checkpoint directory.</li>
 *   <li>{@code --fresh}: embedded, but ignore retained checkpoints (start from the stream's beginning).</li>
 *   <li>{@code --accept-stream-gap}: resume although messages the job had not read aged out of the stream; the
 *       lost ranges go to dead_letters (same as ACCEPT_STREAM_GAP=true).</li>
 *   <li>{@code KEY=VALUE}: configuration overrides (a job submitted to a cluster does not see the caller's environment).</li>
 * </ul>
 */
public final class JobLaunch {
    private static final Logger LOG = LoggerFactory.getLogger(JobLaunch.class);

    private CsrConfig config;
    private final boolean embedded;
    private final boolean fresh;
    private final String fromSavepoint;

    JobLaunch(CsrConfig config, boolean embedded, boolean fresh, String fromSavepoint) {
        this.config = config;
        this.embedded = embedded;
        this.fresh = fresh;
        this.fromSavepoint = fromSavepoint;
    }

    /** Reads a command line ({@link JobLaunchCommand}'s options); a usage error is a picocli ParameterException naming it. */
    public static JobLaunch parse(String[] args, CsrConfig environment) {
        JobLaunchCommand command = new JobLaunchCommand.Parsed();
        command.useConfig(environment);
        new CommandLine(command).parseArgs(args);
        return command.launch();
    }

    /**
     * The launch's configuration; once {@link #environment()} ran, with MAX_PARALLELISM as chosen for its restore point
     * ({@link MaxParallelismChoice}), so the job built from it has the key groups of the state it restores.
     */
    public CsrConfig config() {
        return config;
    }

    public boolean embedded() {
        return embedded;
    }

    /** The restore point chosen for an embedded run: the explicit savepoint, else the newest retained one. */
    public Optional<String> restorePath(RuntimeOptions o) {
        if (fromSavepoint != null) {
            LOG.info("resuming from savepoint {} (--from-savepoint)", fromSavepoint);
            return Optional.of(fromSavepoint);
        }
        if (!embedded) {
            return Optional.empty();
        }
        if (fresh) {
            LOG.info("--fresh: not resuming from retained checkpoints under {}", o.checkpointDir());
            return Optional.empty();
        }
        Optional<RestorePoints.Candidate> latest = RestorePoints.latest(o.checkpointDir(), o.savepointDir());
        if (latest.isPresent()) {
            RestorePoints.Candidate c = latest.get();
            boolean savepoint = c.name().startsWith("savepoint-");
            LOG.info("resuming from {} {} (completed {})", savepoint ? "savepoint" : "checkpoint", c.dir(),
                    java.time.Instant.ofEpochMilli(c.completedAtMs()));
            return Optional.of(c.dir());
        }
        LOG.info("no completed checkpoint under {} or savepoint under {}: starting from the beginning of the stream",
                o.checkpointDir(), o.savepointDir());
        return Optional.empty();
    }

    /**
     * Whether an embedded run takes ownership of {@code restore}: only a retained checkpoint ({@code chk-N}) it found
     * itself. A savepoint, or anything named with {@code --from-savepoint}, stays the user's (Flink's NO_CLAIM).
     */
    boolean claimsRestore(String restore) {
        if (!embedded || fromSavepoint != null || restore == null) {
            return false;
        }
        String path = restore.replaceAll("/+$", "");
        return path.substring(path.lastIndexOf('/') + 1).startsWith("chk-");
    }

    /** The execution environment for this launch, configured for exactly-once checkpoints and restore. */
    public StreamExecutionEnvironment environment() {
        RuntimeOptions o = RuntimeOptions.from(config);
        if (embedded) {
            // this process lists and reads the checkpoints itself: through Flink's file systems with the plugins a
            // Flink process would have, and an unreachable CHECKPOINT_DIR stops here, never a silent fresh start
            Configuration plugins = FlinkSettings.embedded(o, null);
            FileSystem.initialize(plugins, PluginUtils.createPluginManagerFromRootFolder(plugins));
            RestorePoints.fileSystem(o.checkpointDir(), "CHECKPOINT_DIR");
            RestorePoints.fileSystem(o.savepointDir(), "SAVEPOINT_DIR");
        }
        String restore = restorePath(o).orElse(null);
        MaxParallelismChoice.Choice maxParallelism = chooseMaxParallelism(config, restore);
        LOG.info("max parallelism {}: {}", maxParallelism.maxParallelism(), maxParallelism.reason());
        config = config.with(ConfigKey.MAX_PARALLELISM, String.valueOf(maxParallelism.maxParallelism()));
        o = RuntimeOptions.from(config);
        if (embedded) {
            Configuration conf = FlinkSettings.embedded(o, restore);
            if (claimsRestore(restore)) {
                // the job's own retained checkpoint, picked automatically: claimed, so the first checkpoint after the
                // restart stays incremental. Flink's NO_CLAIM default re-uploads every RocksDB file once (4 GB, 13-22 s
                // at 24 h of dedup ids, perf/job-ingest/README.md); the claimed checkpoint is deleted once subsumed.
                conf.set(StateRecoveryOptions.RESTORE_MODE, RestoreMode.CLAIM);
            }
            LOG.info("running embedded (MiniCluster), parallelism {}, checkpoints every {} ms to {}, REST on {}",
                    o.parallelism(), o.checkpointIntervalMs(), o.checkpointDir(), o.restUrl());
            return StreamExecutionEnvironment.createLocalEnvironment(o.parallelism(), conf);
        }
        Configuration conf = FlinkSettings.job(o);
        if (restore != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, restore);
            conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, RestorePoints.isBootstrap(restore));
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.configure(conf, JobLaunch.class.getClassLoader());
        return env;
    }

    /**
     * The max parallelism for a start from {@code restore} (null: fresh): MAX_PARALLELISM when set, else the restored
     * state's, else the fresh default; a set value that differs from the restored state's is refused, naming both.
     */
    public static MaxParallelismChoice.Choice chooseMaxParallelism(CsrConfig config, String restore) {
        OptionalInt explicit = config.isSet(ConfigKey.MAX_PARALLELISM)
                ? OptionalInt.of(RuntimeOptions.from(config).maxParallelism()) : OptionalInt.empty();
        OptionalInt restored = restore == null ? OptionalInt.empty()
                : MaxParallelismChoice.of(SavepointCompatibility.load(restore));
        return MaxParallelismChoice.choose(explicit, restore, restored);
    }

    /**
     * Called when an embedded job ended by itself (stop-with-savepoint, cancel): ends the process, since client threads
     * of the NATS connector can outlive a finished MiniCluster and would keep the JVM (and `csr start`'s pid) alive.
     * A no-op for a job built for a cluster.
     */
    public void finished() {
        if (embedded) {
            LOG.info("job ended; exiting");
            System.exit(0);
        }
    }

    /** The source parallelism: one reader per subject family at most (the connector's unit of split). */
    public static int sourceParallelism(int parallelism) {
        return sourceParallelism(parallelism, EventSourceBuilder.FAMILIES.size());
    }

    /** The source parallelism: at most one reader per split (more would idle). */
    public static int sourceParallelism(int parallelism, int splits) {
        return Math.max(1, Math.min(parallelism, splits));
    }
}
