package io.csr.job.runtime;

import io.csr.common.cli.ConfigOverrides;
import io.csr.common.cli.CsrCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.HashMap;
import java.util.Map;

/**
 * The options of {@code CsrJob.main} ({@code bin/csr run job}; see {@link JobLaunch}): the command that runs the job
 * extends this, and {@link JobLaunch#parse} reads a command line through it.
 */
public abstract class JobLaunchCommand extends CsrCommand {
    @Option(names = "--embedded", description = "a MiniCluster in this process (bin/csr run job always says so); "
            + "without it, the environment of whoever runs main (a Flink cluster when submitted there)")
    boolean embedded;

    @Option(names = "--fresh", description = "ignore retained checkpoints: start from the stream's beginning")
    boolean fresh;

    @Option(names = "--accept-stream-gap", description = "resume although messages the job had not read aged out of the stream; "
            + "the lost ranges go to dead_letters (same as ACCEPT_STREAM_GAP=true)")
    boolean acceptStreamGap;

    @Option(names = "--from-savepoint", paramLabel = "PATH", description = "restore from this savepoint or checkpoint directory "
            + "(default, embedded: the newest completed one under CHECKPOINT_DIR or SAVEPOINT_DIR)")
    String fromSavepoint;

    @Mixin
    ConfigOverrides settings;

    /** The launch these options and the configuration ask for. */
    public JobLaunch launch() {
        Map<String, String> overrides = new HashMap<>(settings.map());
        if (acceptStreamGap) { // confirm resuming over messages that aged out of the stream (StreamGapGuard)
            overrides.put("ACCEPT_STREAM_GAP", "true");
        }
        return new JobLaunch(config().with(overrides), embedded, fresh, fromSavepoint);
    }

    /** Only parses (JobLaunch.parse). */
    static final class Parsed extends JobLaunchCommand {
        @Override
        public Integer call() {
            throw usage("this command line is only parsed here");
        }
    }
}
