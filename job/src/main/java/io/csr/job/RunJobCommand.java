package io.csr.job;

import io.csr.job.runtime.JobLaunchCommand;
import picocli.CommandLine.Command;

/** {@code bin/csr run job}: the job embedded in this process, in the foreground. */
@Command(name = "job", mixinStandardHelpOptions = true,
        description = {"Run the Flink job embedded (MiniCluster) in the foreground; Ctrl-C stops it.",
                "It resumes by itself from the newest completed checkpoint under CHECKPOINT_DIR (or a newer "
                + "savepoint) after a stop or a crash; REST on FLINK_REST_URL."})
public final class RunJobCommand extends JobLaunchCommand {
    @Override
    public Integer call() throws Exception {
        CsrJob.run(launch());
        return 0;
    }
}
