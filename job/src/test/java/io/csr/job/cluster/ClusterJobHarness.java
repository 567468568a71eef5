package io.csr.job.cluster;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestJars;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.JobID;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the cluster ITCases share: the test's own namespace ({@link JobFixture}), the {@link SharedFlinkCluster} of the
 * test JVM (free REST port, own HA cluster id on the shared ZooKeeper that {@code csr test} starts), and the
 * {@link ClusterControl} that {@code csr submit}/{@code savepoint} use. Closing it hands the cluster back whole for the
 * next test (no job of this one left running, every process up) and removes the namespace.
 */
final class ClusterJobHarness implements AutoCloseable {
    static final String ZOOKEEPER = System.getProperty("ZOOKEEPER_QUORUM",
            System.getenv().getOrDefault("ZOOKEEPER_QUORUM", "127.0.0.1:2181"));

    final JobFixture ns;
    final TestStream stream;
    final LocalCluster cluster;
    private final SharedFlinkCluster shared;
    final ClickHouseAccess ch;
    /** Settings every submission and control of this test gets on top of the namespace's (e.g. NATS_PARTITIONS). */
    final Map<String, String> config = new java.util.LinkedHashMap<>();

    ClusterJobHarness(Path tmp, SharedFlinkCluster shared) throws Exception {
        this.shared = shared;
        cluster = shared.cluster();
        ns = new JobFixture(tmp);
        stream = ns.stream;
        ch = ns.ch;
    }

    /** KEY=VALUE arguments of the submitted job: the test's namespace, 1 s checkpoints, the given parallelism. */
    List<String> jobArgs(int parallelism) {
        Map<String, String> more = new java.util.LinkedHashMap<>(config);
        more.put(ConfigKey.JOB_PARALLELISM.name(), String.valueOf(parallelism));
        return ns.jobArgs(more);
    }

    /** The client side, as bin/csr submit runs it with FLINK_REST_URL pointing at this cluster. */
    ClusterControl control(int parallelism) throws Exception {
        Map<String, String> c = ns.jobConfig();
        c.putAll(config);
        c.put(ConfigKey.JOB_PARALLELISM.name(), String.valueOf(parallelism));
        c.put(ConfigKey.FLINK_REST_URL.name(), cluster.settings().restUrl());
        return new ClusterControl(RuntimeOptions.from(CsrConfig.fromEnvironment().with(c)));
    }

    JobID submit(int parallelism, String savepoint) throws Exception {
        try (ClusterControl control = control(parallelism)) {
            return control.submit(TestJars.shadedJobJar().toFile(), jobArgs(parallelism), savepoint);
        }
    }

    /** The parallelism of every vertex of a running job, from GET /jobs/:id. */
    List<Integer> vertexParallelism(JobID job) {
        List<Integer> out = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"parallelism\"\\s*:\\s*(\\d+)").matcher(cluster.get("/jobs/" + job));
        while (m.find()) {
            out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }

    /** The parallelism of a running job's NATS source vertex ("Source: nats-jetstream …"), from GET /jobs/:id. */
    int sourceParallelism(JobID job) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"Source: nats-jetstream[^\"]*\"[^}]*?\"parallelism\"\\s*:\\s*(\\d+)")
                .matcher(cluster.get("/jobs/" + job));
        if (!m.find()) {
            throw new AssertionError("job " + job + " has no vertex named Source: nats-jetstream");
        }
        return Integer.parseInt(m.group(1));
    }

    /** A test's steps on the cluster. */
    @FunctionalInterface
    interface Steps {
        void run() throws Exception;
    }

    /** Runs the test's steps on the cluster; when they fail, the cluster's log tail goes to stderr first. */
    void onCluster(Steps steps) throws Exception {
        try {
            steps.run();
        } catch (Throwable t) {
            System.err.println(cluster.logTail(80));
            throw t;
        }
    }

    long committedEvents() {
        return ns.committedEvents();
    }

    @Override
    public void close() throws Exception {
        try {
            shared.release();
        } finally {
            ns.close();
        }
    }
}
