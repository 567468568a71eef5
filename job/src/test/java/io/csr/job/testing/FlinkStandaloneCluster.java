package io.csr.job.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;

/**
 * A real Flink standalone session cluster from the Maven jars alone (no flink-dist): one JobManager process
 * ({@code StandaloneSessionClusterEntrypoint}) and one TaskManager process ({@code TaskManagerRunner}) with explicit
 * CPU and memory sizes, on free loopback ports, configured in a temp dir. Its classpath is the job module's
 * dependency list minus the project's own code, so a submitted job must bring its code in the shaded jar, as on a
 * real cluster. The TaskManager can be killed (SIGKILL) and started again.
 */
public final class FlinkStandaloneCluster implements AutoCloseable {
    public static final int SLOTS = 3;

    private final Path dir;
    private final String classpath;
    private final int restPort;
    private final List<String> opens;
    private Process jobManager;
    private Process taskManager;
    private int taskManagerStarts;

    public FlinkStandaloneCluster(Path dir, Map<String, String> extraConfig) throws IOException {
        this.dir = dir;
        this.classpath = clusterClasspath();
        this.restPort = freePort();
        this.opens = Arrays.asList(System.getProperty("flink.jvm.opens", defaultOpens()).trim().split("\\s+"));
        Files.createDirectories(dir.resolve("conf"));
        Files.createDirectories(dir.resolve("log"));
        StringBuilder conf = new StringBuilder();
        Map<String, String> base = new java.util.LinkedHashMap<>();
        base.put("jobmanager.rpc.address", "127.0.0.1");
        base.put("jobmanager.rpc.port", String.valueOf(freePort()));
        base.put("jobmanager.bind-host", "127.0.0.1");
        base.put("rest.address", "127.0.0.1");
        base.put("rest.bind-address", "127.0.0.1");
        base.put("rest.port", String.valueOf(restPort));
        base.put("blob.server.port", String.valueOf(freePort()));
        base.put("taskmanager.host", "127.0.0.1");
        base.put("taskmanager.bind-host", "127.0.0.1");
        base.put("taskmanager.numberOfTaskSlots", String.valueOf(SLOTS));
        base.put("jobmanager.memory.process.size", "600m");
        base.put("heartbeat.interval", "1000");
        base.put("heartbeat.timeout", "6000");
        base.put("io.tmp.dirs", dir.resolve("tmp").toString());
        base.put("web.tmpdir", dir.resolve("web").toString());
        base.putAll(extraConfig);
        base.forEach((k, v) -> conf.append(k).append(": ").append(v).append('\n'));
        Files.writeString(dir.resolve("conf/flink-conf.yaml"), conf.toString());
        Files.writeString(dir.resolve("conf/log4j.properties"), """
                rootLogger.level = INFO
                rootLogger.appenderRef.file.ref = file
                appender.file.type = File
                appender.file.name = file
                appender.file.fileName = ${sys:log.file}
                appender.file.layout.type = PatternLayout
                appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-40c{1} %m%n
                """);
    }

    public FlinkStandaloneCluster start() throws IOException {
        jobManager = launch("jobmanager", "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", List.of());
        startTaskManager();
        return this;
    }

    public String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    public int restPort() {
        return restPort;
    }

    /** Starts a (new) TaskManager and waits until its slots are registered. */
    public void startTaskManager() throws IOException {
        taskManagerStarts++;
        List<String> resources = List.of(
                "-D", "taskmanager.cpu.cores=" + SLOTS,
                "-D", "taskmanager.memory.framework.heap.size=64m",
                "-D", "taskmanager.memory.task.heap.size=384m",
                "-D", "taskmanager.memory.framework.off-heap.size=64m",
                "-D", "taskmanager.memory.task.off-heap.size=32m",
                "-D", "taskmanager.memory.network.min=64m",
                "-D", "taskmanager.memory.network.max=64m",
                "-D", "taskmanager.memory.managed.size=128m",
                "-D", "taskmanager.memory.jvm-metaspace.size=192m",
                "-D", "taskmanager.memory.jvm-overhead.min=64m",
                "-D", "taskmanager.memory.jvm-overhead.max=64m");
        taskManager = launch("taskmanager-" + taskManagerStarts, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", resources);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> freeOrUsedSlots() >= SLOTS);
    }

    /** kill -9 of the TaskManager process: every task on it dies mid-flight. */
    public void killTaskManager() throws InterruptedException {
        taskManager.destroyForcibly().waitFor();
    }

    public boolean taskManagerAlive() {
        return taskManager != null && taskManager.isAlive();
    }

    /** Total slots the JobManager knows of, from GET /overview ("slots-total"); 0 when unreachable. */
    public int freeOrUsedSlots() {
        String body = get("/overview");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"slots-total\"\\s*:\\s*(\\d+)").matcher(body);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** GET on the REST API; empty string when the cluster does not answer. */
    public String get(String path) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(restUrl() + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : "";
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** The last lines of every process log (for failure messages). */
    public String logTail(int lines) {
        try (var files = Files.list(dir.resolve("log"))) {
            StringBuilder sb = new StringBuilder();
            for (Path f : files.sorted().toList()) {
                List<String> all = Files.readAllLines(f);
                sb.append("==== ").append(f.getFileName()).append('\n');
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            }
            return sb.toString();
        } catch (IOException e) {
            return "(no logs: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : new Process[]{taskManager, jobManager}) {
            if (p != null && p.isAlive()) {
                p.destroy();
                if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            }
        }
    }

    private Process launch(String name, String mainClass, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(opens);
        cmd.add("-Xmx512m");
        cmd.add("-Dlog.file=" + dir.resolve("log/" + name + ".log"));
        cmd.add("-Dlog4j.configurationFile=" + dir.resolve("conf/log4j.properties").toUri());
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(mainClass);
        cmd.add("--configDir");
        cmd.add(dir.resolve("conf").toString());
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log/" + name + ".out").toFile()).start();
    }

    /** job/target/classpath.txt + classpath-runtime.txt (written at package time) without the project's own code. */
    public static String clusterClasspath() throws IOException {
        Path target = Path.of("target");
        List<String> entries = new ArrayList<>();
        for (String f : List.of("classpath.txt", "classpath-runtime.txt")) {
            Path p = target.resolve(f);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(p.toAbsolutePath() + " is missing; run the job module's package phase first");
            }
            entries.addAll(Arrays.asList(Files.readString(p).trim().split(java.io.File.pathSeparator)));
        }
        return entries.stream().distinct()
                .filter(e -> !e.contains("csr-common") && !e.replace('\\', '/').contains("/common/target/classes"))
                .collect(Collectors.joining(java.io.File.pathSeparator));
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
