package io.csr.job.runtime;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.dag.Pipeline;
import org.apache.flink.client.FlinkPipelineTranslationUtil;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.SerializedThrowable;
import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.upgrade.MaxParallelismChoice;
import io.csr.job.upgrade.RestoreProgress;
import io.csr.job.upgrade.SavepointCompatibility;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Talks to a Flink cluster (a session cluster, or the embedded job's MiniCluster) over its REST API at FLINK_REST_URL:
 * submit the shaded job jar, stop a job with a savepoint. The caller owns and closes it; the commands that use it
 * from bin/csr are in {@link ClusterCommands}.
 */
public final class ClusterControl implements AutoCloseable {
    private static final String ENTRY_CLASS = "io.csr.job.CsrJob";

    private final RuntimeOptions options;
    private final RestClusterClient<StandaloneClusterId> client;

    public ClusterControl(RuntimeOptions options) throws Exception {
        this(options, new Configuration());
    }

    /** With {@code client} settings of the REST client on top (tests: fewer retries of an endpoint that is gone). */
    ClusterControl(RuntimeOptions options, Configuration client) throws Exception {
        this.options = options;
        Configuration c = new Configuration(client);
        c.set(RestOptions.ADDRESS, options.restUrl().getHost());
        c.set(RestOptions.PORT, options.restUrl().getPort());
        this.client = new RestClusterClient<>(c, StandaloneClusterId.getInstance());
    }

    /**
     * Builds the job graph by running the jar's main here, in this process, so the job reads this process's
     * configuration (environment + KEY=VALUE arguments) exactly as an embedded run would, and the operators carry it to
     * the TaskManagers; checks a savepoint against that graph (operator uids, max parallelism) before anything is sent;
     * then uploads the jar, submits the graph and waits until the job runs (a restore the JobManager refuses fails
     * here, explained in the job's terms).
     */
    public JobID submit(File jar, List<String> programArgs, String fromSavepoint, boolean allowNonRestoredState) throws Exception {
        if (!jar.isFile()) {
            throw new IllegalArgumentException("job jar " + jar + " does not exist; build it with: mvn -pl job -am package -DskipTests");
        }
        Configuration conf = FlinkSettings.job(options);
        if (fromSavepoint != null) {
            // the rule an embedded start follows, on the configuration the jar's main will see
            CsrConfig jobConfig = withArgs(programArgs);
            MaxParallelismChoice.Choice maxParallelism = JobLaunch.chooseMaxParallelism(jobConfig, fromSavepoint);
            System.out.println("max parallelism " + maxParallelism.maxParallelism() + ": " + maxParallelism.reason());
            if (!jobConfig.isSet(ConfigKey.MAX_PARALLELISM)) { // the graph is built by the jar's main, from these arguments
                programArgs = new ArrayList<>(programArgs);
                programArgs.add(ConfigKey.MAX_PARALLELISM.name() + "=" + maxParallelism.maxParallelism());
            }
        }
        // a bootstrap savepoint's history-source state has no operator in the live job, by design
        allowNonRestoredState |= RestorePoints.isBootstrap(fromSavepoint);
        SavepointRestoreSettings restore = fromSavepoint == null ? SavepointRestoreSettings.none()
                : SavepointRestoreSettings.forPath(fromSavepoint, allowNonRestoredState);
        PackagedProgram program = PackagedProgram.newBuilder()
                .setJarFile(jar)
                .setEntryPointClassName(ENTRY_CLASS)
                .setArguments(programArgs.toArray(String[]::new))
                .setConfiguration(conf)
                .setSavepointRestoreSettings(restore)
                .build();
        SavepointCompatibility compatibility;
        JobGraph graph;
        try {
            Pipeline pipeline = PackagedProgramUtils.getPipelineFromProgram(program, conf, options.parallelism(), false);
            graph = FlinkPipelineTranslationUtil.getJobGraphUnderUserClassLoader(program.getUserCodeClassLoader(), pipeline, conf, options.parallelism());
            graph.addJars(program.getJobJarAndDependencies());
            graph.setClasspaths(program.getClasspaths());
            graph.setSavepointRestoreSettings(restore);
            compatibility = SavepointCompatibility.of((StreamGraph) pipeline, graph);
        } finally {
            program.close();
        }
        if (fromSavepoint != null) {
            List<String> problems = compatibility.check(SavepointCompatibility.load(fromSavepoint), allowNonRestoredState);
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("savepoint " + fromSavepoint + " does not fit this job; nothing was submitted:\n  - "
                        + String.join("\n  - ", problems));
            }
        }
        JobID id = client.submitJob(graph).get(2, TimeUnit.MINUTES);
        awaitRunning(id, compatibility);
        if (fromSavepoint != null) {
            awaitRestored(id, compatibility);
        }
        return id;
    }

    /**
     * Waits for the first checkpoint after a restore (proof that every task restored its state); a task failing before
     * it (e.g. a state type changed incompatibly) fails the submission, named and explained. The job is left as it is
     * (restarting) so its exceptions stay inspectable; the message says how to cancel it.
     */
    private void awaitRestored(JobID id, SavepointCompatibility compatibility) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.checkpointIntervalMs() + 60_000);
        while (System.nanoTime() < deadline) {
            RestoreProgress.Verdict v = RestoreProgress.judge(client.getJobStatus(id).get(30, TimeUnit.SECONDS),
                    rest("/jobs/" + id + "/checkpoints"), rest("/jobs/" + id + "/exceptions"), compatibility);
            switch (v.state()) {
                case RESTORED -> {
                    return;
                }
                case FAILED -> throw new IllegalStateException("job " + id + " did not restore: " + v.message()
                        + "\nIt keeps restarting until cancelled: curl -X PATCH '" + options.restUrl() + "/jobs/" + id + "?mode=cancel'");
                default -> Thread.sleep(500);
            }
        }
        System.out.println("warning: job " + id + " runs but completed no checkpoint within "
                + (options.checkpointIntervalMs() + 60_000) / 1000 + " s of the restore; watch " + options.restUrl() + "/jobs/" + id + "/exceptions");
    }

    /** GET on the cluster's REST API; empty when it does not answer 200. */
    private String rest(String path) {
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(options.restUrl().resolve(path)).timeout(java.time.Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : "";
        } catch (java.io.IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** The configuration the jar's main sees: this process's environment with the KEY=VALUE arguments on top. */
    private static CsrConfig withArgs(List<String> programArgs) {
        Map<String, String> overrides = new HashMap<>();
        for (String arg : programArgs) {
            int eq = arg.indexOf('=');
            if (eq > 0 && !arg.startsWith("-")) {
                overrides.put(arg.substring(0, eq), arg.substring(eq + 1));
            }
        }
        return CsrConfig.fromEnvironment().with(overrides);
    }

    /** {@link #submit(File, List, String, boolean)} refusing state without an operator. */
    public JobID submit(File jar, List<String> programArgs, String fromSavepoint) throws Exception {
        return submit(jar, programArgs, fromSavepoint, false);
    }

    /** Waits until the job leaves INITIALIZING/CREATED; a job that fails there (e.g. a refused restore) is explained. */
    private void awaitRunning(JobID id, SavepointCompatibility compatibility) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            JobStatus s = client.getJobStatus(id).get(30, TimeUnit.SECONDS);
            if (s == JobStatus.RUNNING || s == JobStatus.FINISHED) {
                return;
            }
            if (s.isGloballyTerminalState()) {
                JobResult result = client.requestJobResult(id).get(30, TimeUnit.SECONDS);
                String trace = result.getSerializedThrowable().map(SerializedThrowable::getFullStringifiedStackTrace).orElse(s.name());
                throw new IllegalStateException("job " + id + " ended " + s + " while starting: " + compatibility.explainFailure(trace));
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("job " + id + " did not reach RUNNING within 2 minutes; see the JobManager log and "
                + options.restUrl() + "/jobs/" + id + "/exceptions");
    }

    /** Running jobs whose name is JOB_NAME. */
    public List<JobID> runningJobs() throws Exception {
        Collection<JobStatusMessage> jobs = jobs();
        List<JobID> out = new ArrayList<>();
        for (JobStatusMessage j : jobs) {
            if (j.getJobState() == JobStatus.RUNNING && options.jobName().equals(j.getJobName())) {
                out.add(j.getJobId());
            }
        }
        return out;
    }

    /**
     * Stops the job with a savepoint under SAVEPOINT_DIR (a final exactly-once commit included); returns its path.
     *
     * <p>The embedded job's MiniCluster shuts down, REST endpoint included, as soon as its job finished, which a
     * stop-with-savepoint makes it do: the trigger's result can be gone before this client polled it ("retries
     * exhausted") although the savepoint was written. When the endpoint no longer answers after the trigger, the
     * savepoint is the one the job wrote: the only directory under SAVEPOINT_DIR named for this job
     * ({@code savepoint-<first 6 hex digits of the id>-…}) that was not there before the trigger and has a loadable
     * {@code _metadata} (written last, once the savepoint is complete). None or several such: the original error,
     * naming what was found. An endpoint that still answers: the original error (the savepoint failed). Looked for
     * each second while the result is awaited, not only once the REST client gave up: its retries of a gone endpoint
     * take about a minute.
     */
    public String stopWithSavepoint(JobID job) throws Exception {
        Set<String> before = savepointDirs();
        java.util.concurrent.CompletableFuture<String> result =
                client.stopWithSavepoint(job, false, options.savepointDir(), SavepointFormatType.CANONICAL);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.checkpointTimeoutMs() + 60_000);
        try {
            while (true) {
                try {
                    return result.get(1, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException pending) {
                    // the client retries a gone endpoint for about a minute before it fails: look for the savepoint
                    // meanwhile, once the endpoint is gone
                    List<String> written = answers() ? List.of() : writtenSince(before, job);
                    if (written.size() == 1) {
                        result.cancel(true);
                        return reportWritten(written.get(0));
                    }
                    if (System.nanoTime() > deadline) {
                        throw pending;
                    }
                }
            }
        } catch (ExecutionException e) {
            if (answers()) {
                throw e;
            }
            List<String> written = writtenSince(before, job);
            if (written.size() != 1) {
                throw new IllegalStateException("the cluster at " + options.restUrl() + " stopped answering before it reported"
                        + " the savepoint of job " + job + ", and SAVEPOINT_DIR " + options.savepointDir() + " holds "
                        + (written.isEmpty() ? "no new complete savepoint of it" : "several new ones: " + written)
                        + "; check the job's log for 'Savepoint stored in'", e);
            }
            return reportWritten(written.get(0));
        }
    }

    private String reportWritten(String savepoint) {
        System.out.println("the cluster at " + options.restUrl() + " shut down with its finished job before it reported the"
                + " savepoint (the embedded job exits once stopped); the savepoint it wrote under SAVEPOINT_DIR is " + savepoint);
        return savepoint;
    }

    /** The savepoint directories under SAVEPOINT_DIR now (complete or not); empty if it cannot be listed. */
    private Set<String> savepointDirs() {
        try {
            Set<String> out = new HashSet<>();
            Path root = new Path(options.savepointDir());
            FileSystem fs = root.getFileSystem();
            if (fs.exists(root)) {
                FileStatus[] listed = fs.listStatus(root);
                for (FileStatus f : listed == null ? new FileStatus[0] : listed) {
                    out.add(f.getPath().getName());
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /** Complete, loadable savepoints of {@code job} under SAVEPOINT_DIR that were not there {@code before}. */
    private List<String> writtenSince(Set<String> before, JobID job) {
        String prefix = "savepoint-" + job.toHexString().substring(0, 6) + "-";
        List<String> out = new ArrayList<>();
        for (RestorePoints.Candidate c : RestorePoints.savepoints(options.savepointDir())) {
            if (c.name().startsWith(prefix) && !before.contains(c.name()) && RestorePoints.loads(c.dir())) {
                out.add(c.dir());
            }
        }
        return out;
    }

    /** Whether the cluster's REST endpoint answers at all (any HTTP status). */
    private boolean answers() {
        try {
            java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(options.restUrl().resolve("/config")).timeout(java.time.Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding());
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    public JobStatus status(JobID job) throws Exception {
        return client.getJobStatus(job).get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        client.close();
    }

    /** Every job the cluster knows, with its state and name. */
    public Collection<JobStatusMessage> jobs() throws Exception {
        return client.listJobs().get(30, TimeUnit.SECONDS);
    }
}
