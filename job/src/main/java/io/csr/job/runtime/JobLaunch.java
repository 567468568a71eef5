package io.csr.job.runtime;

import io.csr.common.config.CsrConfig;
import io.csr.job.source.EventSourceBuilder;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The command line of {@code CsrJob.main}: where the job runs and what it restores.
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

    private final CsrConfig config;
    private final boolean embedded;
    private final boolean fresh;
    private final String fromSavepoint;

    private JobLaunch(CsrConfig config, boolean embedded, boolean fresh, String fromSavepoint) {
        this.config = config;
        this.embedded = embedded;
        this.fresh = fresh;
        this.fromSavepoint = fromSavepoint;
    }

    public static JobLaunch parse(String[] args, CsrConfig environment) {
        boolean embedded = false;
        boolean fresh = false;
        String savepoint = null;
        Map<String, String> overrides = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--embedded" -> embedded = true;
                case "--fresh" -> fresh = true;
                // confirm resuming over messages that aged out of the stream (StreamGapGuard)
                case "--accept-stream-gap" -> overrides.put("ACCEPT_STREAM_GAP", "true");
                case "--from-savepoint" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--from-savepoint needs a path, e.g. --from-savepoint .csr/savepoints/savepoint-1a2b3c-0123456789ab");
                    }
                    savepoint = args[++i];
                }
                default -> {
                    int eq = a.indexOf('=');
                    if (eq <= 0 || a.startsWith("-")) {
                        throw new IllegalArgumentException("unknown argument '" + a
                                + "'; use --embedded, --fresh, --accept-stream-gap, --from-savepoint PATH or KEY=VALUE");
                    }
                    overrides.put(a.substring(0, eq), a.substring(eq + 1));
                }
            }
        }
        return new JobLaunch(environment.with(overrides), embedded, fresh, savepoint);
    }

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
            LOG.info("--fresh: not resuming from retained checkpoints under {}", o.checkpointDir);
            return Optional.empty();
        }
        Path checkpoints = RuntimeOptions.localPath(o.checkpointDir);
        Path savepoints = RuntimeOptions.localPath(o.savepointDir);
        Optional<RestorePoints.Candidate> latest = RestorePoints.latest(checkpoints, savepoints);
        if (latest.isPresent()) {
            RestorePoints.Candidate c = latest.get();
            boolean savepoint = c.dir().getFileName().toString().startsWith("savepoint-");
            LOG.info("resuming from {} {} (completed {})", savepoint ? "savepoint" : "checkpoint", c.dir(), c.completedAt());
            return Optional.of(c.dir().toUri().toString());
        }
        LOG.info("no completed checkpoint under {} or savepoint under {}: starting from the beginning of the stream",
                o.checkpointDir, o.savepointDir);
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
        String restore = restorePath(o).orElse(null);
        if (embedded) {
            Configuration conf = FlinkSettings.embedded(o, restore);
            if (claimsRestore(restore)) {
                // the job's own retained checkpoint, picked automatically: claimed, so the first checkpoint after the
                // restart stays incremental. Flink's NO_CLAIM default re-uploads every RocksDB file once (4 GB, 13-22 s
                // at 24 h of dedup ids, perf/job-ingest/README.md); the claimed checkpoint is deleted once subsumed.
                conf.set(StateRecoveryOptions.RESTORE_MODE, RestoreMode.CLAIM);
            }
            LOG.info("running embedded (MiniCluster), parallelism {}, checkpoints every {} ms to {}, REST on {}",
                    o.parallelism, o.checkpointIntervalMs, o.checkpointDir, o.restUrl);
            return StreamExecutionEnvironment.createLocalEnvironment(o.parallelism, conf);
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
        return Math.min(parallelism, EventSourceBuilder.FAMILIES.size());
    }
}
