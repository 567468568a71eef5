package io.csr.job.cluster;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.FlinkStandaloneCluster;
import io.csr.job.testing.TestJars;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.JobID;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the cluster ITCases share: a {@link LocalCluster} of the test's own (own state dir, free REST port, own HA
 * cluster id on the shared ZooKeeper that {@code csr test} starts), the job configured for the test's own JetStream
 * stream, ClickHouse database and Redis prefix, and the {@link ClusterControl} that {@code csr submit}/{@code savepoint}
 * use. Closing it stops every process it started and drops the database.
 */
final class ClusterJobHarness implements AutoCloseable {
    static final String ZOOKEEPER = System.getProperty("ZOOKEEPER_QUORUM",
            System.getenv().getOrDefault("ZOOKEEPER_QUORUM", "127.0.0.1:2181"));

    final TestStream stream;
    final LocalCluster cluster;
    final ClickHouseAccess ch;
    private final Path tmp;
    private final ClickHouseSettings chSettings;

    ClusterJobHarness(Path tmp) throws Exception {
        this.tmp = tmp;
        requireZooKeeper();
        stream = new TestStream();
        LocalClusterSettings settings = new LocalClusterSettings(tmp.resolve("state"), FlinkStandaloneCluster.freePort(), ZOOKEEPER,
                "it-" + stream.id, LocalClusterSettings.TASK_MANAGERS, LocalClusterSettings.SLOTS_PER_TASK_MANAGER,
                Path.of(System.getProperty("java.home")), FlinkStandaloneCluster.clusterClasspath(), FlinkStandaloneCluster.jvmOpens());
        cluster = new LocalCluster(settings, line -> System.out.println("[cluster it-" + stream.id + "] " + line));
        chSettings = ClickHouseSettings.from(CsrConfig.fromEnvironment()).withDatabase("csr_it_" + stream.id);
        ch = ClickHouseAccess.open(chSettings);
        ch.createDatabaseIfMissing();
        Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
    }

    /** KEY=VALUE arguments of the submitted job: the test's namespace, 1 s checkpoints, the given parallelism. */
    List<String> jobArgs(int parallelism) {
        List<String> args = new ArrayList<>();
        config(parallelism).forEach((k, v) -> args.add(k + "=" + v));
        return args;
    }

    /** The client side, as bin/csr submit runs it with FLINK_REST_URL pointing at this cluster. */
    ClusterControl control(int parallelism) throws Exception {
        Map<String, String> c = config(parallelism);
        c.put(ConfigKey.FLINK_REST_URL.name(), cluster.settings().restUrl());
        return new ClusterControl(RuntimeOptions.from(CsrConfig.fromEnvironment().with(c)));
    }

    JobID submit(int parallelism, String savepoint) throws Exception {
        try (ClusterControl control = control(parallelism)) {
            return control.submit(TestJars.shadedJobJar().toFile(), jobArgs(parallelism), savepoint);
        }
    }

    private Map<String, String> config(int parallelism) {
        Map<String, String> c = new HashMap<>();
        c.put(ConfigKey.NATS_STREAM.name(), stream.stream);
        c.put(ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix);
        c.put(ConfigKey.CLICKHOUSE_DATABASE.name(), chSettings.database());
        c.put(ConfigKey.REDIS_KEY_PREFIX.name(), "it_" + stream.id + ":");
        c.put(ConfigKey.CHECKPOINT_INTERVAL_MS.name(), "1000");
        c.put(ConfigKey.JOB_RESTART_DELAY_MS.name(), "1000");
        c.put(ConfigKey.JOB_PARALLELISM.name(), String.valueOf(parallelism));
        c.put(ConfigKey.CSR_STATE_DIR.name(), tmp.resolve("state").toString());
        return c;
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

    long committedEvents() {
        try {
            return ch.queryLong("SELECT count() FROM events");
        } catch (RuntimeException e) {
            return -1;
        }
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
            try {
                ch.dropDatabase();
                ch.close();
            } finally {
                stream.close();
            }
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
