package io.csr.job.cluster;

import io.csr.job.cluster.node.DetachedProcess;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Flink standalone session cluster from the Maven jars (no flink-dist): one JobManager process
 * ({@code StandaloneSessionClusterEntrypoint}) and {@link LocalClusterSettings#taskManagers()} TaskManager processes
 * ({@code TaskManagerRunner}) with explicit CPU and memory sizes, REST on the configured port, and — when a ZooKeeper
 * quorum is given — Flink's ZooKeeper HA services, so a JobManager killed with {@code kill -9} and started again takes
 * the job back from ZooKeeper and resumes it from its latest completed checkpoint.
 *
 * <p>Processes are detached (own session, output to {@code logs/flink-*.log}) and recorded in {@code run/flink-*.pid},
 * the way {@code csr start} records its processes, so {@code up}, {@code status} and {@code down} work across CLI
 * calls. {@code up} is idempotent: what runs already is left alone.
 *
 * <p>The cluster tests run the same class (job/src/test/.../testing/TestClusters): their own state dir, free ports,
 * and a TaskManager they can kill and start again.
 */
public final class LocalCluster {
    static final String JOB_MANAGER = "flink-jobmanager";
    static final String TASK_MANAGER = "flink-taskmanager-";
    private static final String JOB_MANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
    private static final String TASK_MANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
    /** Without HA the TaskManagers find the JobManager at this fixed port (Flink's default); with HA through ZooKeeper. */
    static final int NO_HA_RPC_PORT = 6123;
    /** ZooKeeper root of the HA data of every local cluster; each one has a node {@code <root>/<haClusterId>} under it. */
    static final String HA_ROOT = "/csr-flink";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private final LocalClusterSettings settings;
    private final Consumer<String> progress;
    private final Map<String, String> configuration;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    /** TaskManagers this instance started again after a crash: each comes back under a new resource id. */
    private int taskManagerRestarts;

    public LocalCluster(LocalClusterSettings settings, Consumer<String> progress) {
        this(settings, progress, Map.of());
    }

    /**
     * @param configuration Flink settings that replace or add to the cluster's own (tests: a free JobManager RPC port
     *                      for a cluster without HA, so it can run beside another)
     */
    public LocalCluster(LocalClusterSettings settings, Consumer<String> progress, Map<String, String> configuration) {
        this.settings = settings;
        this.progress = progress;
        this.configuration = Map.copyOf(configuration);
    }

    public LocalClusterSettings settings() {
        return settings;
    }

    /** Writes the configuration and starts whatever is not running; returns when every slot is registered. */
    public void up() throws IOException, InterruptedException {
        writeConfig();
        if (pid(JOB_MANAGER).isEmpty()) {
            refuseTakenRestPort();
            startJobManager();
        } else {
            progress.accept("jobmanager     runs (pid " + pid(JOB_MANAGER).orElseThrow() + ")");
        }
        awaitRest();
        for (int i = 1; i <= settings.taskManagers(); i++) {
            if (pid(TASK_MANAGER + i).isEmpty()) {
                startTaskManager(i, "tm-" + i);
            } else {
                progress.accept("taskmanager-" + i + "  runs (pid " + pid(TASK_MANAGER + i).orElseThrow() + ")");
            }
        }
        awaitSlots(settings.totalSlots());
        progress.accept("cluster ready: " + settings.restUrl() + ", " + settings.taskManagers() + " TaskManagers, "
                + settings.totalSlots() + " slots, HA " + (settings.highAvailability()
                ? "ZooKeeper " + settings.zookeeperQuorum() + " (storage " + haStorageDir() + ")" : "off"));
    }

    /** SIGTERM to every process of the cluster (TaskManagers first), SIGKILL after 30 s; removes the pid files. */
    public void down() throws IOException, InterruptedException {
        List<String> names = new ArrayList<>();
        for (int i = settings.taskManagers(); i >= 1; i--) {
            names.add(TASK_MANAGER + i);
        }
        names.add(JOB_MANAGER);
        boolean any = false;
        for (String name : names) {
            any |= process(name).stop(progress);
        }
        if (!any) {
            progress.accept("no local Flink cluster was running (no live pid under " + settings.runDir() + ")");
        }
    }

    /**
     * Forgets every job the cluster's HA services remember: deletes the cluster's ZooKeeper node (job graphs, checkpoint
     * pointers, leader records) and its HA storage directory. For a cluster that is down, e.g. when the checkpoints those
     * pointers name are lost and a restarted JobManager would fail to recover the job (docs/operations.md). Retained
     * checkpoints and savepoints themselves are not touched.
     */
    public void forgetJobs() throws Exception {
        if (!livePids().isEmpty()) {
            throw new IllegalStateException("the cluster still runs (pids " + livePids() + "); stop it first: bin/csr cluster down");
        }
        if (settings.highAvailability()) {
            String node = HA_ROOT + "/" + settings.haClusterId();
            org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper zk =
                    new org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper(settings.zookeeperQuorum(), 10_000, event -> { });
            try {
                if (zk.exists(node, false) != null) {
                    org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZKUtil.deleteRecursive(zk, node);
                    progress.accept("deleted ZooKeeper node " + node + " on " + settings.zookeeperQuorum());
                }
            } catch (org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.KeeperException e) {
                throw new IllegalStateException("could not delete ZooKeeper node " + node + " on " + settings.zookeeperQuorum()
                        + " (" + e.getMessage() + "); is ZooKeeper up? bin/csr cluster up starts it", e);
            } finally {
                zk.close();
            }
        }
        Path ha = haStorageDir();
        if (Files.exists(ha)) {
            try (var files = Files.walk(ha)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
            progress.accept("deleted HA storage " + ha);
        }
    }

    /** One line per process (running or not) and what the REST API reports; true when everything runs. */
    public boolean status(Consumer<String> out) {
        boolean ok = true;
        List<String> names = new ArrayList<>();
        names.add(JOB_MANAGER);
        for (int i = 1; i <= settings.taskManagers(); i++) {
            names.add(TASK_MANAGER + i);
        }
        for (String name : names) {
            Optional<Long> pid = pid(name);
            ok &= pid.isPresent();
            out.accept(String.format("%-22s %-5s %s", name, pid.isPresent() ? "up" : "down",
                    pid.map(p -> "pid " + p + ", log " + logFile(name)).orElse("(start it: bin/csr cluster up)")));
        }
        String overview = get("/overview");
        if (overview.isEmpty()) {
            out.accept(String.format("%-22s %-5s %s", "rest", "down", settings.restUrl() + " does not answer"));
            return false;
        }
        out.accept(String.format("%-22s %-5s %s: %s TaskManagers, %s/%s slots free, %s jobs running", "rest", "up",
                settings.restUrl(), field(overview, "taskmanagers"), field(overview, "slots-available"),
                field(overview, "slots-total"), field(overview, "jobs-running")));
        out.accept(String.format("%-22s %-5s %s", "high-availability", settings.highAvailability() ? "on" : "off",
                settings.highAvailability() ? "ZooKeeper " + settings.zookeeperQuorum() + ", storage " + haStorageDir() : "a JobManager crash loses running jobs"));
        return ok;
    }

    /** Starts the JobManager (again, e.g. after a crash); returns once its REST API answers. */
    public void startJobManager() throws IOException, InterruptedException {
        writeConfig();
        launch(JOB_MANAGER, JOB_MANAGER_MAIN, List.of());
        awaitRest();
    }

    /** kill -9 of the JobManager process, as in a crash (no shutdown hook, no leadership handed over). */
    public void killJobManager() {
        kill(JOB_MANAGER);
    }

    /** kill -9 of TaskManager {@code index} (from 1), as in a crash: every task on it dies mid-flight. */
    public void killTaskManager(int index) {
        kill(TASK_MANAGER + index);
    }

    /**
     * Starts TaskManager {@code index} again after a crash, under a new resource id (the JobManager may not have
     * noticed the old one's death yet); returns once the cluster has all its slots registered.
     */
    public void restartTaskManager(int index) throws IOException, InterruptedException {
        if (pid(TASK_MANAGER + index).isPresent()) {
            throw new IllegalStateException("taskmanager-" + index + " still runs (pid " + pid(TASK_MANAGER + index).orElseThrow() + ")");
        }
        startTaskManager(index, "tm-" + index + "-" + (++taskManagerRestarts));
        awaitSlots(settings.totalSlots());
    }

    public boolean taskManagerAlive(int index) {
        return pid(TASK_MANAGER + index).isPresent();
    }

    private void kill(String name) {
        process(name).kill();
    }

    /** Pids of this cluster's processes that are alive now (for leak checks). */
    public List<Long> livePids() {
        List<Long> out = new ArrayList<>();
        pid(JOB_MANAGER).ifPresent(out::add);
        for (int i = 1; i <= settings.taskManagers(); i++) {
            pid(TASK_MANAGER + i).ifPresent(out::add);
        }
        return out;
    }

    public boolean jobManagerAlive() {
        return pid(JOB_MANAGER).isPresent();
    }

    /** Total slots the JobManager knows of, from GET /overview; 0 when it does not answer. */
    public int registeredSlots() {
        String n = field(get("/overview"), "slots-total");
        return n.isEmpty() ? 0 : Integer.parseInt(n);
    }

    /** GET on the REST API; empty string when the cluster does not answer with 200. */
    public String get(String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(settings.restUrl() + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : "";
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    public Path logFile(String name) {
        return settings.logDir().resolve(name + ".log");
    }

    public Path haStorageDir() {
        return settings.clusterDir().resolve("ha");
    }

    /** The last lines of every process log of this cluster (for failure messages). */
    public String logTail(int lines) {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.list(settings.logDir())) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("flink-")).sorted().toList()) {
                List<String> all = Files.readAllLines(f);
                sb.append("==== ").append(f).append('\n');
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            }
        } catch (IOException | UncheckedIOException e) {
            sb.append("(logs unreadable: ").append(e).append(")\n");
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------- configuration

    /** The cluster's flink-conf.yaml (flat keys); the job brings its own checkpoint, state and restart settings. */
    Map<String, String> flinkConfiguration() {
        Path dir = settings.clusterDir();
        Map<String, String> c = new LinkedHashMap<>();
        c.put("jobmanager.rpc.address", "127.0.0.1");
        c.put("jobmanager.bind-host", "127.0.0.1");
        c.put("jobmanager.memory.process.size", "700m");
        c.put("jobmanager.execution.failover-strategy", "region");
        c.put("rest.address", "127.0.0.1");
        c.put("rest.bind-address", "127.0.0.1");
        c.put("rest.port", String.valueOf(settings.restPort()));
        c.put("taskmanager.host", "127.0.0.1");
        c.put("taskmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.numberOfTaskSlots", String.valueOf(settings.slotsPerTaskManager()));
        // random free ports for everything but REST (and, without HA, the JobManager's RPC port the TaskManagers are
        // told), so several clusters (tests, people) share one machine
        c.put("jobmanager.rpc.port", settings.highAvailability() ? "0" : String.valueOf(NO_HA_RPC_PORT));
        c.put("blob.server.port", "0");
        c.put("taskmanager.rpc.port", "0");
        c.put("heartbeat.interval", "1000");
        c.put("heartbeat.timeout", "8000");
        c.put("io.tmp.dirs", dir.resolve("tmp").toString());
        c.put("web.tmpdir", dir.resolve("web").toString());
        c.put("web.upload.dir", dir.resolve("web").toString());
        if (settings.highAvailability()) {
            c.put("high-availability.type", "zookeeper");
            c.put("high-availability.zookeeper.quorum", settings.zookeeperQuorum());
            c.put("high-availability.zookeeper.path.root", HA_ROOT);
            c.put("high-availability.cluster-id", "/" + settings.haClusterId());
            c.put("high-availability.storageDir", haStorageDir().toUri().toString());
            c.put("high-availability.jobmanager.port", "0");
            // a killed JobManager's ZooKeeper session (and so its leadership) ends after this; the restarted one
            // waits for it before taking the job back, so keep it short on one machine (default 60 s)
            c.put("high-availability.zookeeper.client.session-timeout", "6000");
            c.put("high-availability.zookeeper.client.connection-timeout", "5000");
        }
        c.putAll(configuration);
        return c;
    }

    void writeConfig() throws IOException {
        Path conf = settings.clusterDir().resolve("conf");
        Files.createDirectories(conf);
        Files.createDirectories(settings.runDir());
        Files.createDirectories(settings.logDir());
        StringBuilder yaml = new StringBuilder("# written by csr cluster up (LocalCluster); edits are overwritten\n");
        flinkConfiguration().forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
        Files.writeString(conf.resolve("flink-conf.yaml"), yaml.toString());
        Files.writeString(conf.resolve("log4j.properties"), """
                rootLogger.level = INFO
                rootLogger.appenderRef.file.ref = file
                appender.file.type = File
                appender.file.name = file
                appender.file.fileName = ${sys:log.file}
                appender.file.append = true
                appender.file.layout.type = PatternLayout
                appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-40c{1} %m%n
                logger.zookeeper.name = org.apache.flink.shaded.zookeeper3
                logger.zookeeper.level = WARN
                logger.curator.name = org.apache.flink.shaded.curator5
                logger.curator.level = WARN
                """);
    }

    // ------------------------------------------------------------------------------------------- processes

    private void startTaskManager(int index, String resourceId) throws IOException {
        int slots = settings.slotsPerTaskManager();
        List<String> resources = List.of(
                "-D", "taskmanager.resource-id=" + resourceId,
                "-D", "taskmanager.cpu.cores=" + slots,
                "-D", "taskmanager.memory.framework.heap.size=64m",
                "-D", "taskmanager.memory.task.heap.size=320m",
                "-D", "taskmanager.memory.framework.off-heap.size=64m",
                "-D", "taskmanager.memory.task.off-heap.size=32m",
                "-D", "taskmanager.memory.network.min=64m",
                "-D", "taskmanager.memory.network.max=64m",
                "-D", "taskmanager.memory.managed.size=128m",
                "-D", "taskmanager.memory.jvm-metaspace.size=192m",
                "-D", "taskmanager.memory.jvm-overhead.min=64m",
                "-D", "taskmanager.memory.jvm-overhead.max=64m");
        launch(TASK_MANAGER + index, TASK_MANAGER_MAIN, resources);
    }

    private void launch(String name, String mainClass, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(settings.javaHome().resolve("bin/java").toString());
        cmd.addAll(settings.jvmOptions());
        cmd.add(name.equals(JOB_MANAGER) ? "-Xmx448m" : "-Xmx384m");
        cmd.add("-Dlog.file=" + logFile(name));
        cmd.add("-Dlog4j.configurationFile=" + settings.clusterDir().resolve("conf/log4j.properties").toUri());
        cmd.add("-cp");
        cmd.add(settings.classpath());
        cmd.add(mainClass);
        cmd.add("--configDir");
        cmd.add(settings.clusterDir().resolve("conf").toString());
        cmd.addAll(args);
        long pid = process(name).launch(cmd, Path.of("").toAbsolutePath());
        progress.accept(String.format("%-14s started (pid %d, log %s)", name.replace("flink-", ""), pid, logFile(name)));
    }

    /** A process of this cluster: detached, recorded in {@code run/<name>.pid}, its console output in {@code logs/<name>.out}. */
    private DetachedProcess process(String name) {
        return new DetachedProcess(name, settings.runDir(), settings.logDir().resolve(name + ".out"));
    }

    /** The pid recorded for a process of this cluster while that process runs (a zombie or a reused pid does not). */
    Optional<Long> pid(String name) {
        return process(name).pid();
    }

    private void refuseTakenRestPort() {
        if (!get("/config").isEmpty()) {
            throw new IllegalStateException("something already serves a Flink REST API on " + settings.restUrl()
                    + " but it is not a cluster started by csr (no live pid under " + settings.runDir()
                    + "); stop it, or point FLINK_REST_URL at a free port, or use it directly: bin/csr submit");
        }
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.bind(new java.net.InetSocketAddress("127.0.0.1", settings.restPort()));
        } catch (IOException e) {
            throw new IllegalStateException("port " + settings.restPort() + " on 127.0.0.1 is in use (" + e.getMessage()
                    + "); stop what listens there or set FLINK_REST_URL to a free port, e.g. http://127.0.0.1:8091");
        }
    }

    private void awaitRest() throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (get("/config").isEmpty()) {
            if (pid(JOB_MANAGER).isEmpty()) {
                throw new IllegalStateException("the JobManager exited right after starting; see " + logFile(JOB_MANAGER)
                        + " and " + settings.logDir().resolve(JOB_MANAGER + ".out")
                        + (settings.highAvailability() ? " (is ZooKeeper answering at " + settings.zookeeperQuorum() + "?)" : ""));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the JobManager did not serve " + settings.restUrl() + " within "
                        + START_TIMEOUT.toSeconds() + " s; see " + logFile(JOB_MANAGER));
            }
            Thread.sleep(250);
        }
    }

    private void awaitSlots(int slots) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        int seen;
        while ((seen = registeredSlots()) < slots) {
            for (int i = 1; i <= settings.taskManagers(); i++) {
                if (pid(TASK_MANAGER + i).isEmpty()) {
                    throw new IllegalStateException("TaskManager " + i + " exited; see " + logFile(TASK_MANAGER + i)
                            + " and " + settings.logDir().resolve(TASK_MANAGER + i + ".out"));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + seen + " of " + slots + " task slots registered within "
                        + START_TIMEOUT.toSeconds() + " s; see the TaskManager logs under " + settings.logDir());
            }
            Thread.sleep(250);
        }
    }

    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*(\\d+)").matcher(json);
        return m.find() ? m.group(1) : "";
    }
}
