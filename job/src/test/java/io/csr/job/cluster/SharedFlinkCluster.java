package io.csr.job.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.csr.job.testing.LocalServers;
import io.csr.job.testing.TestClusters;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;

/**
 * One standalone Flink cluster ({@link TestClusters}: JobManager and TaskManager processes from the Maven jars, HA on the
 * shared ZooKeeper under a cluster id of its own) for every cluster ITCase of the test JVM that registers
 * {@code @RegisterExtension static final SharedFlinkCluster flink = new SharedFlinkCluster();}. Starting a cluster and
 * stopping it again took 40-70 s of each such test on a loaded 2-core machine; now the first test that asks for it
 * starts it and the end of the run stops it (JUnit's root store), checking that no process is left and forgetting its
 * HA data.
 * <p>
 * The tests run one after another and each keeps its own namespace ({@link ClusterJobHarness}: stream, database, Redis
 * prefix, state dir for checkpoints and savepoints). Between two tests the cluster is handed back whole:
 * {@link #release()} cancels whatever job a failed test left running and starts again a JobManager or TaskManager it
 * killed, so one test's failure does not become the next one's. A class registering it still runs alone.
 */
final class SharedFlinkCluster implements BeforeAllCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedFlinkCluster.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TERMINAL = List.of("FINISHED", "CANCELED", "FAILED");

    private ExtensionContext.Store store;

    @Override
    public void beforeAll(ExtensionContext context) {
        store = context.getRoot().getStore(NAMESPACE);
    }

    /** The cluster, started by the first test of the run that asks, for a test of a class that registered the extension. */
    LocalCluster cluster() {
        if (store == null) {
            throw new IllegalStateException("the shared Flink cluster is not there: register SharedFlinkCluster on a static "
                    + "field (@RegisterExtension) and use it from the tests");
        }
        return store.getOrComputeIfAbsent(Running.class, k -> Running.start(), Running.class).cluster;
    }

    /**
     * Hands the cluster back for the next test: cancels every job not yet finished, failed or cancelled, starts again
     * any process a test killed (or left killed when it failed), and returns once every slot is free.
     */
    void release() throws Exception {
        LocalCluster cluster = cluster();
        cluster.up(); // starts only what is not running: a JobManager or TaskManager the test killed
        for (String job : unfinishedJobs(cluster)) {
            HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(cluster.settings().restUrl() + "/jobs/" + job + "?mode=cancel"))
                    .method("PATCH", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        }
        await("every slot of the shared cluster free").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> unfinishedJobs(cluster).isEmpty()
                        && rest(cluster, "/overview").path("slots-available").asInt(-1) == cluster.settings().totalSlots());
    }

    /** The ids of the jobs of {@code GET /jobs} ({@code {"jobs":[{"id":…,"status":…}]}}) not finished, cancelled or failed. */
    private static List<String> unfinishedJobs(LocalCluster cluster) throws JsonProcessingException {
        List<String> out = new ArrayList<>();
        for (JsonNode job : rest(cluster, "/jobs").path("jobs")) {
            if (!TERMINAL.contains(job.path("status").asText())) {
                out.add(job.path("id").asText());
            }
        }
        return out;
    }

    /** The REST answer at {@code path}; a missing node when the JobManager does not answer (200) right now. */
    private static JsonNode rest(LocalCluster cluster, String path) throws JsonProcessingException {
        return JSON.readTree(cluster.get(path));
    }

    /** The cluster of the run; closed with JUnit's root store, after the last test. */
    private static final class Running implements ExtensionContext.Store.CloseableResource {
        final Path dir;
        final LocalCluster cluster;

        private Running(Path dir, LocalCluster cluster) {
            this.dir = dir;
            this.cluster = cluster;
        }

        static Running start() {
            Path dir = null;
            LocalCluster cluster = null;
            try {
                requireZooKeeper();
                dir = Files.createTempDirectory("it-flink-shared");
                cluster = TestClusters.cluster(dir, "it-shared-" + Long.toHexString(System.nanoTime() & 0xffffff),
                        LocalClusterSettings.TASK_MANAGERS, LocalClusterSettings.SLOTS_PER_TASK_MANAGER, ClusterJobHarness.ZOOKEEPER);
                cluster.up();
                return new Running(dir, cluster);
            } catch (Exception e) {
                if (cluster != null) {
                    System.err.println(cluster.logTail(80));
                    try {
                        cluster.down();
                    } catch (Exception down) {
                        e.addSuppressed(down);
                    }
                }
                throw new IllegalStateException("the shared Flink cluster did not start under " + dir + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() throws Throwable {
            try {
                List<Long> started = cluster.livePids();
                cluster.down();
                List<Long> leaked = started.stream().filter(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).toList();
                if (!leaked.isEmpty()) {
                    throw new AssertionError("shared cluster processes still alive after down(): " + leaked);
                }
                cluster.forgetJobs(); // its ZooKeeper node and HA storage go too
            } finally {
                LocalServers.deleteTree(dir);
            }
        }
    }

    private static void requireZooKeeper() throws IOException {
        String first = ClusterJobHarness.ZOOKEEPER.split(",")[0];
        try (Socket s = new Socket(first.substring(0, first.lastIndexOf(':')), Integer.parseInt(first.substring(first.lastIndexOf(':') + 1)))) {
            s.getInputStream(); // answers
        } catch (IOException e) {
            throw new IOException("ZooKeeper does not answer at " + ClusterJobHarness.ZOOKEEPER + " (" + e.getMessage()
                    + "); the cluster tests need it for Flink's HA services: bin/csr test (or bin/csr cluster up) starts it", e);
        }
    }
}
