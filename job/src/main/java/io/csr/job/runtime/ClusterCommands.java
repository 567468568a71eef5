package io.csr.job.runtime;

import io.csr.common.cli.ConfigOverrides;
import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseSettings;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.runtime.client.JobStatusMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** {@code csr submit}, {@code csr savepoint} and {@code csr jobs}: the cluster at FLINK_REST_URL through {@link ClusterControl}. */
public final class ClusterCommands {
    private ClusterCommands() {
    }

    /** The REST client for {@code config}, with the Flink file systems this process reads savepoints through. */
    static ClusterControl control(RuntimeOptions options) throws Exception {
        // this process reads savepoints itself (compatibility check, bootstrap marker): through Flink's file systems,
        // with the plugins a Flink process has (FLINK_PLUGINS_DIR), so s3://… savepoints are read as the cluster reads them
        Configuration plugins = FlinkSettings.job(options);
        FileSystem.initialize(plugins, PluginUtils.createPluginManagerFromRootFolder(plugins));
        return new ClusterControl(options);
    }

    @Command(name = "submit", mixinStandardHelpOptions = true,
            description = {"Submit the shaded job jar to the Flink cluster at FLINK_REST_URL.",
                    "A savepoint is checked against the job first: an operator or state that does not fit is named, with "
                    + "what to do, and nothing is submitted. KEY=VALUE settings reach the job (it does not see this shell's "
                    + "environment)."})
    public static final class Submit extends CsrCommand {
        @Option(names = "--from-savepoint", paramLabel = "PATH", description = "restore from this savepoint (or retained checkpoint)")
        String savepoint;

        @Option(names = "--parallelism", paramLabel = "N", description = "parallelism of the job, 1-99999 (default: JOB_PARALLELISM)")
        Integer parallelism;

        @Option(names = "--allow-non-restored-state", description = "drop savepoint state that has no operator in this job")
        boolean allowNonRestored;

        @Option(names = "--jar", paramLabel = "FILE", description = "the job jar (default: job/target/csr-job-*-shaded.jar under csr.root)")
        Path jar;

        @Mixin
        ConfigOverrides settings;

        @Override
        public Integer call() throws Exception {
            if (parallelism != null && (parallelism < 1 || parallelism > 99_999)) {
                throw usage("--parallelism " + parallelism + " is not a positive number; e.g. --parallelism 2");
            }
            List<String> programArgs = new ArrayList<>(settings.raw());
            settings.map(); // every KEY a configuration key
            if (parallelism != null) {
                programArgs.add(ConfigKey.JOB_PARALLELISM.name() + "=" + parallelism);
            }
            CsrConfig config = settings.over(config());
            if (parallelism != null) {
                config = config.with(ConfigKey.JOB_PARALLELISM, String.valueOf(parallelism));
            }
            RuntimeOptions options = RuntimeOptions.from(config);
            File jarFile = (jar != null ? jar : shadedJar()).toFile();
            try (ClusterControl control = control(options)) {
                // the job itself holds the lease (the sink's subtask 0, on a TaskManager) and would stop at once;
                // refusing here first keeps a second job off the cluster altogether
                Optional<String> running = JobLease.heldByOther(LeaseSettings.from(config));
                if (running.isPresent()) {
                    throw new IllegalStateException(running.get() + " Nothing was submitted.");
                }
                System.out.println("submitting " + jarFile.getName() + " to " + options.restUrl());
                if (savepoint != null) {
                    System.out.println("restoring " + savepoint + " with parallelism " + options.parallelism()
                            + (allowNonRestored ? ", dropping state without an operator" : ""));
                }
                JobID id = control.submit(jarFile, programArgs, savepoint, allowNonRestored);
                System.out.println("submitted job " + id + " to " + options.restUrl() + ", running with parallelism " + options.parallelism()
                        + (savepoint == null ? "" : ", restored from " + savepoint));
            }
            return 0;
        }

        private static Path shadedJar() throws IOException {
            Path target = Path.of(System.getProperty("csr.root", "."), "job", "target");
            try (Stream<Path> files = Files.exists(target) ? Files.list(target) : Stream.empty()) {
                return files.filter(f -> f.getFileName().toString().matches("csr-job-.*-shaded\\.jar")).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no shaded job jar under " + target.toAbsolutePath()
                                + "; build it: bin/csr build (or give --jar FILE)"));
            }
        }
    }

    @Command(name = "savepoint", mixinStandardHelpOptions = true,
            description = {"Stop the running job (embedded or on the cluster) with a savepoint under SAVEPOINT_DIR.",
                    "Resume with bin/csr run job --from-savepoint PATH or bin/csr submit --from-savepoint PATH."})
    public static final class Savepoint extends CsrCommand {
        @Parameters(arity = "0..1", paramLabel = "JOB_ID", description = "the job to stop (default: the one running job named JOB_NAME)")
        String jobId;

        @Override
        public Integer call() throws Exception {
            RuntimeOptions options = RuntimeOptions.from(config());
            JobID given;
            try {
                given = jobId == null ? null : JobID.fromHexString(jobId);
            } catch (IllegalArgumentException e) {
                throw usage("JOB_ID '" + jobId + "' is not a Flink job id (32 hex digits); bin/csr jobs lists them");
            }
            try (ClusterControl control = control(options)) {
                List<JobID> jobs = given != null ? List.of(given) : control.runningJobs();
                if (jobs.size() != 1) {
                    throw new IllegalStateException(jobs.isEmpty()
                            ? "no running job named '" + options.jobName() + "' at " + options.restUrl() + "; is the job running (csr status)?"
                            : "several running jobs named '" + options.jobName() + "': " + jobs + "; pass the job id");
                }
                System.out.println("stopping job " + jobs.get(0) + " with a savepoint under " + options.savepointDir() + " ...");
                String path = control.stopWithSavepoint(jobs.get(0));
                System.out.println("savepoint " + path);
                System.out.println("resume with: bin/csr run job --from-savepoint " + path
                        + "   (or bin/csr submit --from-savepoint " + path + " [--parallelism N])");
            }
            return 0;
        }
    }

    @Command(name = "jobs", mixinStandardHelpOptions = true, description = "Every job of the Flink cluster at FLINK_REST_URL: id, state, name.")
    public static final class Jobs extends CsrCommand {
        @Override
        public Integer call() throws Exception {
            try (ClusterControl control = control(RuntimeOptions.from(config()))) {
                for (JobStatusMessage j : control.jobs()) {
                    System.out.println(j.getJobId() + "  " + j.getJobState() + "  " + j.getJobName());
                }
            }
            return 0;
        }
    }
}
