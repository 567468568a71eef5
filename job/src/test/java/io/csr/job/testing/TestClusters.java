package io.csr.job.testing;

import io.csr.job.cluster.LocalCluster;
import io.csr.job.cluster.LocalClusterSettings;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The Flink cluster of a test: the same {@link LocalCluster} {@code csr cluster up} runs (real JobManager and
 * TaskManager processes from the Maven jars), with the test's own state dir and free loopback ports, so it runs beside
 * other tests and beside a developer's cluster. Its classpath is the job module's dependency list without the
 * project's own code, so a submitted job must bring its code in the shaded jar, as on a real cluster.
 */
public final class TestClusters {
    private TestClusters() {
    }

    /**
     * A cluster under {@code dir} (not started: {@link LocalCluster#up()}) with {@code taskManagers} TaskManagers of
     * {@code slots} slots each, Flink's ZooKeeper HA on {@code zookeeperQuorum} under its own cluster id (empty: no HA,
     * and a free JobManager RPC port instead of Flink's fixed one).
     */
    public static LocalCluster cluster(Path dir, String name, int taskManagers, int slots, String zookeeperQuorum) throws IOException {
        LocalClusterSettings settings = new LocalClusterSettings(dir, freePort(), zookeeperQuorum, name, taskManagers, slots,
                Path.of(System.getProperty("java.home")), flinkClasspath(), jvmOpens());
        Map<String, String> ports = settings.highAvailability() ? Map.of() : Map.of("jobmanager.rpc.port", String.valueOf(freePort()));
        return new LocalCluster(settings, line -> System.out.println("[cluster " + name + "] " + line), ports);
    }

    /** job/target/classpath.txt + classpath-runtime.txt (written at package time) without the project's own code. */
    public static String flinkClasspath() throws IOException {
        Path target = Path.of("target");
        List<String> entries = new ArrayList<>();
        for (String f : List.of("classpath.txt", "classpath-runtime.txt")) {
            Path p = target.resolve(f);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(p.toAbsolutePath() + " is missing; run the job module's package phase first");
            }
            entries.addAll(Arrays.asList(Files.readString(p).trim().split(File.pathSeparator)));
        }
        return entries.stream().distinct()
                .filter(e -> !e.contains("csr-common") && !e.replace('\\', '/').contains("/common/target/classes"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** The --add-opens Flink needs on Java 17+ (the root pom's flink.jvm.opens when failsafe passes it). */
    public static List<String> jvmOpens() {
        return Arrays.asList(System.getProperty("flink.jvm.opens", defaultOpens()).trim().split("\\s+"));
    }

    private static String defaultOpens() {
        return "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED "
                + "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED "
                + "--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED "
                + "--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED "
                + "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED "
                + "--add-opens=java.base/java.math=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.sql/java.sql=ALL-UNNAMED";
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
