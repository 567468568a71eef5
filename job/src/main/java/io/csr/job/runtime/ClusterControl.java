package io.csr.job.runtime;

import io.csr.common.config.CsrConfig;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;

import java.io.File;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Talks to a Flink cluster (a session cluster, or the embedded job's MiniCluster) over its REST API at FLINK_REST_URL:
 * submit the shaded job jar, stop a job with a savepoint. The caller owns and closes it.
 */
public final class ClusterControl implements AutoCloseable {
    private static final String ENTRY_CLASS = "io.csr.job.CsrJob";

    private final RuntimeOptions options;
    private final RestClusterClient<StandaloneClusterId> client;

    public ClusterControl(RuntimeOptions options) throws Exception {
        this.options = options;
        Configuration c = new Configuration();
        c.set(RestOptions.ADDRESS, options.restUrl.getHost());
        c.set(RestOptions.PORT, options.restUrl.getPort());
        this.client = new RestClusterClient<>(c, StandaloneClusterId.getInstance());
    }

    /**
     * Builds the job graph by running the jar's main here, in this process, so the job reads this process's
     * configuration (environment + KEY=VALUE arguments) exactly as an embedded run would, and the operators carry it to
     * the TaskManagers; then uploads the jar and submits the graph.
     */
    public JobID submit(File jar, List<String> programArgs, String fromSavepoint) throws Exception {
        if (!jar.isFile()) {
            throw new IllegalArgumentException("job jar " + jar + " does not exist; build it with: mvn -pl job -am package -DskipTests");
        }
        Configuration conf = FlinkSettings.job(options);
        SavepointRestoreSettings restore = fromSavepoint == null ? SavepointRestoreSettings.none()
                : SavepointRestoreSettings.forPath(fromSavepoint, false);
        PackagedProgram program = PackagedProgram.newBuilder()
                .setJarFile(jar)
                .setEntryPointClassName(ENTRY_CLASS)
                .setArguments(programArgs.toArray(String[]::new))
                .setConfiguration(conf)
                .setSavepointRestoreSettings(restore)
                .build();
        try {
            JobGraph graph = PackagedProgramUtils.createJobGraph(program, conf, options.parallelism, false);
            return client.submitJob(graph).get(2, TimeUnit.MINUTES);
        } finally {
            program.close();
        }
    }

    /** Running jobs whose name is JOB_NAME. */
    public List<JobID> runningJobs() throws Exception {
        Collection<JobStatusMessage> jobs = client.listJobs().get(30, TimeUnit.SECONDS);
        List<JobID> out = new ArrayList<>();
        for (JobStatusMessage j : jobs) {
            if (j.getJobState() == JobStatus.RUNNING && options.jobName.equals(j.getJobName())) {
                out.add(j.getJobId());
            }
        }
        return out;
    }

    /** Stops the job with a savepoint under SAVEPOINT_DIR (a final exactly-once commit included); returns its path. */
    public String stopWithSavepoint(JobID job) throws Exception {
        return client.stopWithSavepoint(job, false, options.savepointDir, SavepointFormatType.CANONICAL)
                .get(options.checkpointTimeoutMs + 60_000, TimeUnit.MILLISECONDS);
    }

    public JobStatus status(JobID job) throws Exception {
        return client.getJobStatus(job).get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        client.close();
    }

    /**
     * CLI entry of {@code csr submit} and {@code csr savepoint}:
     * {@code submit JAR [--from-savepoint PATH] [KEY=VALUE…]}, {@code savepoint [JOB_ID]}, {@code jobs}.
     */
    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: ClusterControl submit JAR [--from-savepoint PATH] [KEY=VALUE...] | savepoint [JOB_ID] | jobs");
        }
        CsrConfig config = CsrConfig.fromEnvironment();
        RuntimeOptions options = RuntimeOptions.from(config);
        try (ClusterControl control = new ClusterControl(options)) {
            switch (args[0]) {
                case "submit" -> {
                    if (args.length < 2) {
                        throw new IllegalArgumentException("submit needs the job jar, e.g. job/target/csr-job-0.1.0-SNAPSHOT-shaded.jar");
                    }
                    String savepoint = null;
                    List<String> programArgs = new ArrayList<>();
                    for (int i = 2; i < args.length; i++) {
                        if (args[i].equals("--from-savepoint") && i + 1 < args.length) {
                            savepoint = args[++i];
                        } else {
                            programArgs.add(args[i]);
                        }
                    }
                    JobID id = control.submit(new File(args[1]), programArgs, savepoint);
                    System.out.println("submitted job " + id + " to " + options.restUrl
                            + (savepoint == null ? "" : " restoring " + savepoint));
                }
                case "savepoint" -> {
                    List<JobID> jobs = args.length > 1 ? List.of(JobID.fromHexString(args[1])) : control.runningJobs();
                    if (jobs.size() != 1) {
                        throw new IllegalStateException(jobs.isEmpty()
                                ? "no running job named '" + options.jobName + "' at " + options.restUrl + "; is the job running (csr status)?"
                                : "several running jobs named '" + options.jobName + "': " + jobs + "; pass the job id");
                    }
                    System.out.println("stopping job " + jobs.get(0) + " with a savepoint under " + options.savepointDir + " ...");
                    String path = control.stopWithSavepoint(jobs.get(0));
                    System.out.println("savepoint " + path);
                    System.out.println("resume with: bin/csr run job --from-savepoint " + path
                            + "   (or bin/csr submit --from-savepoint " + path + ")");
                }
                case "jobs" -> {
                    for (JobStatusMessage j : control.client.listJobs().get(30, TimeUnit.SECONDS)) {
                        System.out.println(j.getJobId() + "  " + j.getJobState() + "  " + j.getJobName());
                    }
                }
                default -> throw new IllegalArgumentException("unknown command '" + args[0] + "'; use submit, savepoint or jobs");
            }
        }
    }
}
