package io.csr.job.cluster;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * What a local standalone session cluster is made of: where it keeps its files, the REST port it serves, the ZooKeeper
 * quorum of its HA services (empty: no HA), how many TaskManagers with how many slots, and the JVM that runs them.
 * Immutable; {@link #from(CsrConfig, Path)} reads it the way {@code csr cluster up} does, tests build their own.
 *
 * @param stateDir       CSR_STATE_DIR: pid files go to {@code run/}, logs to {@code logs/}, config and HA data to {@code cluster/}
 * @param restPort       the JobManager's REST port (the port of FLINK_REST_URL)
 * @param zookeeperQuorum ZOOKEEPER_QUORUM, e.g. {@code 127.0.0.1:2181}; empty turns HA off
 * @param haClusterId    the cluster's node under the ZooKeeper root: two clusters on one quorum need different ids
 * @param classpath      Flink's runtime jars (not the job's code: a submitted job brings that in its jar)
 * @param jvmOptions     e.g. the {@code --add-opens} Flink needs on Java 17+
 */
public record LocalClusterSettings(Path stateDir, int restPort, String zookeeperQuorum, String haClusterId,
                                   int taskManagers, int slotsPerTaskManager, Path javaHome, String classpath,
                                   List<String> jvmOptions) {
    public static final int TASK_MANAGERS = 2;
    public static final int SLOTS_PER_TASK_MANAGER = 2;
    public static final String DEFAULT_HA_CLUSTER_ID = "csr-local";

    public LocalClusterSettings {
        Objects.requireNonNull(stateDir, "stateDir");
        if (restPort <= 0 || restPort > 65_535) {
            throw new IllegalArgumentException("REST port " + restPort + " is not a TCP port; set FLINK_REST_URL to e.g. http://127.0.0.1:8081");
        }
        if (taskManagers < 1 || slotsPerTaskManager < 1) {
            throw new IllegalArgumentException("a cluster needs at least one TaskManager with one slot, got "
                    + taskManagers + " x " + slotsPerTaskManager);
        }
        if (!haClusterId.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new IllegalArgumentException("HA cluster id '" + haClusterId + "' must match [A-Za-z0-9_-]{1,64}");
        }
        zookeeperQuorum = zookeeperQuorum == null ? "" : zookeeperQuorum.trim();
        jvmOptions = List.copyOf(jvmOptions);
    }

    /** From the process configuration (CSR_STATE_DIR, FLINK_REST_URL, ZOOKEEPER_QUORUM) and this JVM. */
    public static LocalClusterSettings from(CsrConfig config, Path repoRoot) {
        URI rest = URI.create(config.get(ConfigKey.FLINK_REST_URL));
        if (rest.getPort() < 0 || !isLoopback(rest.getHost())) {
            throw new IllegalArgumentException("FLINK_REST_URL=" + rest + " must be a loopback address with a port for a local cluster"
                    + " (e.g. http://127.0.0.1:8081); to use a remote cluster, skip `csr cluster up` and just `csr submit` to it");
        }
        return new LocalClusterSettings(config.stateDir(repoRoot), rest.getPort(),
                config.get(ConfigKey.ZOOKEEPER_QUORUM), DEFAULT_HA_CLUSTER_ID, TASK_MANAGERS, SLOTS_PER_TASK_MANAGER,
                Path.of(System.getProperty("java.home")), flinkClasspath(System.getProperty("java.class.path")), currentJvmOpens());
    }

    public boolean highAvailability() {
        return !zookeeperQuorum.isEmpty();
    }

    public Path clusterDir() {
        return stateDir.resolve("cluster");
    }

    public Path runDir() {
        return stateDir.resolve("run");
    }

    public Path logDir() {
        return stateDir.resolve("logs");
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    public int totalSlots() {
        return taskManagers * slotsPerTaskManager;
    }

    /** A classpath without the project's own jars and classes: the cluster must load the job from its jar only. */
    public static String flinkClasspath(String classpath) {
        return Arrays.stream(classpath.split(File.pathSeparator))
                .filter(e -> !e.isBlank())
                .filter(e -> {
                    String n = e.replace('\\', '/');
                    return !n.contains("/csr-") && !n.endsWith("/target/classes") && !n.endsWith("/target/test-classes")
                            && !n.contains("/target/classes/") && !n.contains("/target/test-classes/");
                })
                .distinct()
                .collect(Collectors.joining(File.pathSeparator));
    }

    private static List<String> currentJvmOpens() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-exports") || a.startsWith("--enable-native-access"))
                .toList();
    }

    private static boolean isLoopback(String host) {
        return host != null && (host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1"));
    }
}
