package io.csr.job.cluster;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestClusters;
import io.csr.job.testing.TestJars;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.JobID;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the cluster ITCases share: the test's own namespace ({@link JobFixture}), a {@link LocalCluster} of the
 * test's own (own state dir, free REST port, own HA cluster id on the shared ZooKeeper that {@code csr test} starts),
 * and the {@link ClusterControl} that {@code csr submit}/{@code savepoint} use. Closing it stops every process it
 * started, checks that none is left, and removes the namespace.
 */
final class ClusterJobHarness implements AutoCloseable {
    static final String ZOOKEEPER = System.getProperty("ZOOKEEPER_QUORUM",
            System.getenv().getOrDefault("ZOOKEEPER_QUORUM", "127.0.0.1:2181"));

    final JobFixture ns;
    final TestStream stream;
    final LocalCluster cluster;
    final ClickHouseAccess ch;
    /** Settings every submission and control of this test gets on top of the namespace's (e.g. NATS_PARTITIONS). */
    final Map<String, String> config = new java.util.LinkedHashMap<>();

    ClusterJobHarness(Path tmp) throws Exception {
        requireZooKeeper();
        ns = new JobFixture(tmp);
        stream = ns.stream;
        ch = ns.ch;
        cluster = TestClusters.cluster(tmp.resolve("flink"), "it-" + ns.id(), LocalClusterSettings.TASK_MANAGERS,
                LocalClusterSettings.SLOTS_PER_TASK_MANAGER, ZOOKEEPER);
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

    /** Starts the cluster and runs the test's steps; when they fail, the cluster's log tail goes to stderr first. */
    void onCluster(Steps steps) throws Exception {
        try {
            cluster.up();
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
            List<Long> started = cluster.livePids();
            cluster.down();
            List<Long> leaked = started.stream().filter(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).toList();
            if (!leaked.isEmpty()) {
                throw new AssertionError("cluster processes still alive after down(): " + leaked);
            }
            cluster.forgetJobs(); // the test's ZooKeeper node and HA storage go too
        } finally {
            ns.close();
        }
    }

    private static void requireZooKeeper() throws IOException {
        String first = ZOOKEEPER.split(",")[0];
        try (Socket s = new Socket(first.substring(0, first.lastIndexOf(':')), Integer.parseInt(first.substring(first.lastIndexOf(':') + 1)))) {
            s.getInputStream(); // answers
        } catch (IOException e) {
            throw new IOException("ZooKeeper does not answer at " + ZOOKEEPER + " (" + e.getMessage()
                    + "); the cluster tests need it for Flink's HA services: bin/csr test (or bin/csr cluster up) starts it", e);
        }
    }
}
