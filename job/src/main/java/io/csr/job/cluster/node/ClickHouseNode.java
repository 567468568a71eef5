package io.csr.job.cluster.node;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One clickhouse-server of the local cluster (Debian's 18.16 binary, or whatever {@code clickhouse-server} is on the
 * machine), with its own ports and data directory under {@code <state>/cluster/clickhouse/<s1r2>/}, and a config that
 * names the cluster ({@code remote_servers}), ZooKeeper, and its own {@code macros} ({@code {shard}}, {@code {replica}})
 * that the replicated tables' paths use.
 *
 * <p>Sized for the 2-core/24 GiB machine beside the rest of the topology: at most 2 threads per query, 4 background
 * merge/fetch threads, 4 GB per query, 256 MiB mark and uncompressed caches (docs/scaling.md has what it costs).
 */
public final class ClickHouseNode implements Node {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /** Past the 60 s a closed connection's TIME_WAIT holds its local port on Linux. */
    private static final Duration PORT_WAIT = Duration.ofSeconds(75);
    /**
     * Launches at most: again when the server exits on "Address already in use" (a port taken between the check and
     * its bind), once with flags/force_restore_data when it refused its local parts after a crash, and again when it
     * exited while loading its tables for another reason (as ClickHouse's own systemd unit restarts it).
     */
    private static final int START_ATTEMPTS = 4;
    /** 18.16's TOO_MANY_UNEXPECTED_DATA_PARTS at a replicated table's attach. */
    private static final String UNEXPECTED_PARTS = "doesn't look like the set of parts in ZooKeeper";

    private final ClickHouseLayout layout;
    private final ClickHouseLayout.Server server;
    private final String zookeeper;
    private final Path dir;
    private final DetachedProcess process;
    private final Consumer<String> progress;
    private final Duration portWait;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public ClickHouseNode(ClickHouseLayout layout, ClickHouseLayout.Server server, String zookeeper, Path stateDir,
                          Consumer<String> progress) {
        this(layout, server, zookeeper, stateDir, progress, PORT_WAIT);
    }

    /** {@code portWait}: how long a start waits for its ports to be free before it launches the server anyway. */
    public ClickHouseNode(ClickHouseLayout layout, ClickHouseLayout.Server server, String zookeeper, Path stateDir,
                          Consumer<String> progress, Duration portWait) {
        this.portWait = portWait;
        this.layout = layout;
        this.server = server;
        this.zookeeper = zookeeper;
        this.dir = stateDir.resolve("cluster/clickhouse/" + layout.cluster() + "-" + server.name());
        this.process = new DetachedProcess(name(), stateDir.resolve("run"), dir.resolve("log/server.out"));
        this.progress = progress;
    }

    /** Every server of a layout as a node. */
    public static List<ClickHouseNode> all(ClickHouseLayout layout, String zookeeper, Path stateDir, Consumer<String> progress) {
        List<ClickHouseNode> out = new ArrayList<>();
        for (ClickHouseLayout.Server s : layout.serverList()) {
            out.add(new ClickHouseNode(layout, s, zookeeper, stateDir, progress));
        }
        return out;
    }

    @Override
    public String name() {
        return "clickhouse-" + layout.cluster() + "-" + server.name();
    }

    public ClickHouseLayout.Server server() {
        return server;
    }

    public String url() {
        return server.url();
    }

    public Path dataDir() {
        return dir;
    }

    public DetachedProcess process() {
        return process;
    }

    @Override
    public void start() throws Exception {
        if (process.alive()) {
            progress.accept(String.format("%-22s runs (pid %d, %s)", name(), process.pid().orElseThrow(), url()));
            return;
        }
        if (answers()) {
            throw new IllegalStateException("something already answers at " + url() + " but it is not " + name()
                    + " started by csr (no live pid in " + process.pidFile() + "); stop it, or free ports "
                    + server.httpPort() + "/" + server.tcpPort() + "/" + server.interserverPort());
        }
        writeConfig();
        ensureZooKeeperRoot();
        List<Integer> ports = List.of(server.httpPort(), server.tcpPort(), server.interserverPort());
        for (int attempt = 1; ; attempt++) {
            // after a crash its ports may be held a while by another process's socket (see LoopbackPorts): wait for
            // them, and launch anyway when they stay busy so that the server's own error says why it cannot start
            List<Integer> busy = LoopbackPorts.awaitBindable(ports, portWait);
            long errorsBefore = size(errorLog());
            long pid = process.launch(List.of(binary().toString(), "--config-file=" + dir.resolve("config.xml")), dir);
            try {
                Await.until(this::answers, START_TIMEOUT, process::alive, () -> name() + " did not answer at " + url()
                        + "; see " + dir.resolve("log") + ":\n" + process.logTail(4) + "\n" + errorLog().getFileName() + ":\n"
                        + errorsSince(errorsBefore, 12)
                        + (busy.isEmpty() ? "" : "\nports still in use after " + portWait.toSeconds() + " s: " + LoopbackPorts.describe(busy)));
            } catch (IllegalStateException e) {
                String errors = errorsSince(errorsBefore, 12);
                if (process.alive() || attempt == START_ATTEMPTS) {
                    throw e;
                }
                if (errors.contains("Address already in use")) {
                    // a socket took one of the ports between the check and the server's bind
                    progress.accept(name() + " could not listen (attempt " + attempt + " of " + START_ATTEMPTS + "): "
                            + LoopbackPorts.describe(LoopbackPorts.busy(ports)) + "; starting it again");
                    continue;
                }
                if (errors.contains(UNEXPECTED_PARTS) && !Files.exists(forceRestoreFlag())) {
                    // killed while a fetched or merged part was on disk but not yet in ZooKeeper: 18.16 refuses a table
                    // where such parts hold most rows. ZooKeeper's list is the truth for a replica; the flag (removed by
                    // the server once read) detaches the unexpected parts and fetches what is missing from the others
                    Files.createDirectories(forceRestoreFlag().getParent());
                    Files.writeString(forceRestoreFlag(), "");
                    progress.accept(name() + " refused its local parts after a crash (\"" + UNEXPECTED_PARTS
                            + "\"); starting it again with " + forceRestoreFlag());
                    continue;
                }
                // 18.16 exited while loading its tables for another reason: in CI once "Caught exception while loading
                // metadata: std::system_error ... Invalid argument" right after a forced restore, which is what a
                // std::thread::join of a thread never started throws while a table that failed to attach (e.g. on a
                // ZooKeeper timeout under load) is destroyed; not reproduced here in 7 runs, so one more start is tried
                progress.accept(name() + " exited while starting (attempt " + attempt + " of " + START_ATTEMPTS + "): "
                        + errors.lines().reduce((a, b) -> b).orElse("(nothing in its error log)") + "; starting it again");
                continue;
            }
            progress.accept(String.format("%-22s started (pid %d, %s, data %s)", name(), pid, url(), dir));
            return;
        }
    }

    /** flags/force_restore_data under the data path: one start that takes ZooKeeper's list of parts as it is. */
    private Path forceRestoreFlag() {
        return dir.resolve("data/flags/force_restore_data");
    }

    private Path errorLog() {
        return dir.resolve("log/clickhouse-server.err.log");
    }

    private static long size(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * The last {@code lines} lines the server wrote to its error log after byte {@code offset} (this start's), without
     * the numbered stack frames 18.16 prints under an exception.
     */
    private String errorsSince(long offset, int lines) {
        try (var in = Files.newInputStream(errorLog())) {
            in.skipNBytes(Math.min(offset, size(errorLog())));
            List<String> kept = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.matches("\\d+\\. .*")).toList();
            return kept.isEmpty() ? "(nothing)" : String.join("\n", kept.subList(Math.max(0, kept.size() - lines), kept.size()));
        } catch (IOException e) {
            return "(" + errorLog() + " unreadable: " + e.getMessage() + ")";
        }
    }

    @Override
    public void stop() throws Exception {
        process.stop(progress);
    }

    /** kill -9 of the server, as in a crash. */
    public void kill() {
        process.kill();
    }

    @Override
    public List<NodeStatus> status() {
        String role = "shard " + server.shard() + " replica " + server.replica();
        if (!process.alive()) {
            return List.of(NodeStatus.down(name(), role, url() + " (start it: bin/csr cluster up --ha)"));
        }
        String lag;
        try {
            // one row per replicated table: the replication queue (parts still to fetch or merge) and how far behind
            // the newest part any replica has this one is, in seconds
            List<JsonNode> rows = query("SELECT count() AS tables, sum(queue_size) AS queue, max(absolute_delay) AS delay, "
                    + "sum(is_readonly) AS readonly, sum(is_session_expired) AS expired FROM system.replicas");
            JsonNode r = rows.get(0);
            lag = r.get("tables").asLong() == 0 ? "no replicated tables yet"
                    : "queue " + r.get("queue").asLong() + ", delay " + r.get("delay").asLong() + " s"
                    + (r.get("readonly").asLong() > 0 ? ", " + r.get("readonly").asLong() + " READ-ONLY" : "")
                    + (r.get("expired").asLong() > 0 ? ", ZooKeeper session expired" : "");
        } catch (IOException | RuntimeException e) {
            lag = "does not answer (" + e.getMessage() + ")";
        }
        return List.of(new NodeStatus(name(), role, true, lag, process.rssBytes(),
                "pid " + process.pid().orElseThrow() + ", " + url() + ", tcp " + server.tcpPort()));
    }

    public boolean answers() {
        return HttpProbe.ok(url() + "/ping");
    }

    /** A read on this server only (status, tests); the SQL is the caller's constant text. */
    public List<JsonNode> query(String sql) throws IOException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/?query="
                            + URLEncoder.encode(sql + " FORMAT JSONEachRow", StandardCharsets.UTF_8)))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(name() + " answered " + r.statusCode() + ": " + r.body().strip());
            }
            List<JsonNode> out = new ArrayList<>();
            for (String line : r.body().split("\n")) {
                if (!line.isBlank()) {
                    out.add(Json.mapper().readTree(line));
                }
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A statement on this server only (e.g. SYSTEM STOP FETCHES in a test). */
    public void execute(String sql) throws IOException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/"))
                    .POST(HttpRequest.BodyPublishers.ofString(sql)).timeout(Duration.ofSeconds(60)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(name() + " answered " + r.statusCode() + " to " + sql + ": " + r.body().strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Creates the layout's ZooKeeper root: 18.16 does not create its chroot and its DDL worker dies on a segfault
     * (seen here) at the first {@code ON CLUSTER} statement when the root is missing.
     */
    private void ensureZooKeeperRoot() throws Exception {
        java.util.concurrent.CountDownLatch connected = new java.util.concurrent.CountDownLatch(1);
        org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper zk =
                new org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper(zookeeper, 10_000, event -> {
                    if (event.getState() == org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) {
                        connected.countDown();
                    }
                });
        try {
            // a request sent before the session is established fails with ConnectionLoss (seen right after start)
            if (!connected.await(15, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("ZooKeeper at " + zookeeper + " did not accept a session within 15 s; bin/csr cluster status");
            }
            String path = "";
            for (String part : layout.zookeeperRoot().substring(1).split("/")) {
                path += "/" + part;
                try {
                    zk.create(path, new byte[0], org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooDefs.Ids.OPEN_ACL_UNSAFE,
                            org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.CreateMode.PERSISTENT);
                } catch (org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.KeeperException.NodeExistsException e) {
                    // there already
                }
            }
        } catch (org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.KeeperException e) {
            throw new IllegalStateException("could not create ZooKeeper node " + layout.zookeeperRoot() + " on " + zookeeper
                    + " (" + e.getMessage() + "); is ZooKeeper up? bin/csr cluster status", e);
        } finally {
            zk.close();
        }
    }

    static Path binary() {
        for (String candidate : List.of("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        throw new IllegalStateException("clickhouse-server is not installed (looked in /usr/sbin and /usr/bin): run "
                + "`apt-get install -y clickhouse-server` (as root; bin/csr up does it), then bin/csr cluster up --ha again");
    }

    void writeConfig() throws IOException {
        for (String sub : List.of("data", "tmp", "user_files", "log", "format_schemas")) {
            Files.createDirectories(dir.resolve(sub));
        }
        String[] zk = zookeeper.split(",");
        StringBuilder zkNodes = new StringBuilder();
        for (int i = 0; i < zk.length; i++) {
            String member = zk[i].trim();
            int colon = member.lastIndexOf(':');
            zkNodes.append("        <node index=\"").append(i + 1).append("\"><host>").append(member, 0, colon)
                    .append("</host><port>").append(member.substring(colon + 1)).append("</port></node>\n");
        }
        Files.writeString(dir.resolve("config.xml"), """
                <?xml version="1.0"?>
                <!-- written by csr cluster up (ClickHouseNode, the HA topology); edits are overwritten -->
                <yandex>
                    <logger>
                        <level>information</level>
                        <log>%1$s/log/clickhouse-server.log</log>
                        <errorlog>%1$s/log/clickhouse-server.err.log</errorlog>
                        <size>50M</size>
                        <count>2</count>
                    </logger>
                    <listen_host>127.0.0.1</listen_host>
                    <http_port>%2$d</http_port>
                    <tcp_port>%3$d</tcp_port>
                    <interserver_http_port>%4$d</interserver_http_port>
                    <interserver_http_host>127.0.0.1</interserver_http_host>
                    <path>%1$s/data/</path>
                    <tmp_path>%1$s/tmp/</tmp_path>
                    <user_files_path>%1$s/user_files/</user_files_path>
                    <format_schema_path>%1$s/format_schemas/</format_schema_path>
                    <users_config>users.xml</users_config>
                    <default_profile>default</default_profile>
                    <default_database>default</default_database>
                    <timezone>UTC</timezone>
                    <max_connections>1024</max_connections>
                    <keep_alive_timeout>10</keep_alive_timeout>
                    <max_concurrent_queries>100</max_concurrent_queries>
                    <uncompressed_cache_size>268435456</uncompressed_cache_size>
                    <mark_cache_size>268435456</mark_cache_size>
                    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
                    <remote_servers>
                %5$s    </remote_servers>
                    <zookeeper>
                %6$s        <session_timeout_ms>10000</session_timeout_ms>
                        <root>%7$s</root>
                    </zookeeper>
                    <macros>
                        <cluster>%8$s</cluster>
                        <shard>%9$d</shard>
                        <replica>%10$s</replica>
                    </macros>
                    <distributed_ddl>
                        <path>/clickhouse/task_queue/ddl</path>
                    </distributed_ddl>
                </yandex>
                """.formatted(dir, server.httpPort(), server.tcpPort(), server.interserverPort(), layout.remoteServersXml(),
                zkNodes, layout.zookeeperRoot(), layout.cluster(), server.shard(), server.name()));
        Files.writeString(dir.resolve("users.xml"), """
                <?xml version="1.0"?>
                <!-- written by csr cluster up (ClickHouseNode, the HA topology): 'default' without a password, loopback only -->
                <yandex>
                    <profiles>
                        <default>
                            <max_memory_usage>4000000000</max_memory_usage>
                            <max_threads>2</max_threads>
                            <background_pool_size>4</background_pool_size>
                            <load_balancing>in_order</load_balancing>
                        </default>
                    </profiles>
                    <users>
                        <default>
                            <password></password>
                            <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
                            <profile>default</profile>
                            <quota>default</quota>
                        </default>
                    </users>
                    <quotas>
                        <default>
                            <interval>
                                <duration>3600</duration>
                                <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
                                <read_rows>0</read_rows><execution_time>0</execution_time>
                            </interval>
                        </default>
                    </quotas>
                </yandex>
                """);
    }
}
