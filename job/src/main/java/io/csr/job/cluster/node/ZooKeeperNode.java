package io.csr.job.cluster.node;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * ZooKeeper for Flink's HA services and ClickHouse's replication: Debian's {@code zookeeper} package as one server on
 * the first address of the quorum. When something answers there already (an ensemble of the operator's, or the one
 * {@code bin/csr test} started) it is used and never stopped. Same pid file and log as {@code bin/csr}'s
 * {@code ensure_zookeeper}, so {@code csr down} stops it either way.
 */
public final class ZooKeeperNode implements Node {
    static final Path JAR = Path.of("/usr/share/java/zookeeper.jar");
    /** 256 MiB heap: a test topology's ZooKeeper holds a few thousand znodes (Flink leaders, ClickHouse logs). */
    static final String HEAP = "-Xmx256m";

    private final String host;
    private final int port;
    private final Path dir;
    private final DetachedProcess process;
    private final Consumer<String> progress;

    public ZooKeeperNode(String quorum, Path stateDir, Consumer<String> progress) {
        String first = quorum.split(",")[0].trim();
        int colon = first.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("ZOOKEEPER_QUORUM member '" + first + "' has no port; use e.g. 127.0.0.1:2181");
        }
        this.host = first.substring(0, colon);
        this.port = Integer.parseInt(first.substring(colon + 1));
        this.dir = stateDir.resolve("zookeeper");
        this.process = new DetachedProcess("zookeeper", stateDir.resolve("run"), stateDir.resolve("logs/zookeeper.log"));
        this.progress = progress;
    }

    @Override
    public String name() {
        return "zookeeper";
    }

    public String address() {
        return host + ":" + port;
    }

    @Override
    public void start() throws Exception {
        if (fourLetter("ruok").equals("imok")) {
            progress.accept(String.format("%-22s up (%s%s)", name(), address(), process.alive() ? ", pid " + process.pid().orElseThrow() : ", not started by csr"));
            return;
        }
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException("ZooKeeper is not installed (" + JAR + " is missing) and nothing answers at " + address()
                    + ": run `apt-get install -y zookeeper` (as root), or point ZOOKEEPER_QUORUM at a running ensemble");
        }
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("zoo.cfg"), """
                # written by csr cluster up (ZooKeeperNode); one server for Flink HA and ClickHouse replication
                tickTime=2000
                dataDir=%s
                clientPort=%d
                clientPortAddress=%s
                maxClientCnxns=200
                admin.enableServer=false
                4lw.commands.whitelist=ruok,stat,mntr
                """.formatted(dir.resolve("data"), port, host));
        Path java = Files.isExecutable(Path.of("/usr/bin/java")) ? Path.of("/usr/bin/java")
                : Path.of(System.getProperty("java.home"), "bin", "java");
        long pid = process.launch(List.of(java.toString(), HEAP, "-cp", JAR.toString(),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", dir.resolve("zoo.cfg").toString()), dir);
        Await.until(() -> fourLetter("ruok").equals("imok"), Duration.ofSeconds(60), process::alive,
                () -> "ZooKeeper did not answer at " + address() + "; see " + process.log() + ":\n" + process.logTail(20));
        progress.accept(String.format("%-22s started (pid %d, %s, log %s)", name(), pid, address(), process.log()));
    }

    @Override
    public void stop() throws Exception {
        process.stop(progress);
    }

    @Override
    public List<NodeStatus> status() {
        String stat = fourLetter("mntr");
        boolean ours = process.alive();
        if (!stat.contains("zk_server_state")) { // e.g. a server whose whitelist has ruok but not mntr
            return fourLetter("ruok").equals("imok")
                    ? List.of(new NodeStatus(name(), "coordination", true, "", ours ? process.rssBytes() : OptionalLong.empty(),
                            address() + (ours ? ", pid " + process.pid().orElseThrow() : ", not started by csr")))
                    : List.of(NodeStatus.down(name(), "coordination", "nothing answers at " + address()));
        }
        String mode = value(stat, "zk_server_state");
        String outstanding = value(stat, "zk_outstanding_requests");
        return List.of(new NodeStatus(name(), "coordination (" + (mode.isEmpty() ? "?" : mode) + ")", true,
                outstanding.isEmpty() ? "" : outstanding + " requests queued",
                ours ? process.rssBytes() : OptionalLong.empty(),
                address() + ", " + value(stat, "zk_znode_count") + " znodes"
                        + (ours ? ", pid " + process.pid().orElseThrow() : ", not started by csr")));
    }

    private static String value(String mntr, String key) {
        for (String line : mntr.split("\n")) {
            String[] kv = line.split("\t", 2);
            if (kv.length == 2 && kv[0].equals(key)) {
                return kv[1].trim();
            }
        }
        return "";
    }

    /** A ZooKeeper four-letter command; empty when nothing answers. */
    String fourLetter(String command) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write(command.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }
}
