package io.csr.job.cluster.node;

import io.csr.common.redis.LocalRedisCluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The Redis Cluster of the live-update streams in {@code csr cluster up --ha}: 3 masters + 3 replicas of Debian's
 * {@code redis-server} on loopback ports {@value #BASE_PORT}…{@code +5} (cluster bus ports +10000), data under
 * {@code <state>/cluster/redis/<port>/}, each a detached process with its pid file like every other node. Point the job
 * and the gateways at it with {@link #url()} as REDIS_URL. Formed once with {@code redis-cli --cluster create}; a node
 * that died is started again and rejoins by its {@code nodes.conf} (a killed master's replica has taken over; the
 * restarted node becomes a replica).
 */
public final class RedisClusterNode implements Node {
    public static final int BASE_PORT = 17100;
    /** A master silent this long is failed over to its replica (plus about a second of election). */
    public static final int NODE_TIMEOUT_MS = 2_000;

    private final LocalRedisCluster layout;
    private final Path stateDir;
    private final Consumer<String> progress;

    public RedisClusterNode(int basePort, Path stateDir, Consumer<String> progress) {
        this.layout = new LocalRedisCluster(stateDir.resolve("cluster/redis"), basePort, 3, 1, NODE_TIMEOUT_MS);
        this.stateDir = stateDir;
        this.progress = progress;
    }

    @Override
    public String name() {
        return "redis-cluster";
    }

    /** REDIS_URL of this cluster. */
    public String url() {
        return layout.url();
    }

    /** The ports of its nodes, masters and replicas. */
    List<Integer> ports() {
        return layout.ports();
    }

    DetachedProcess process(int port) {
        return new DetachedProcess("redis-" + port, stateDir.resolve("run"), stateDir.resolve("logs/redis-" + port + ".log"));
    }

    @Override
    public void start() throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/redis-server")) && !onPath("redis-server")) {
            throw new IllegalStateException("redis-server is not installed: run `apt-get install -y redis-server` (as root)");
        }
        for (int port : layout.ports()) {
            DetachedProcess p = process(port);
            if (LocalRedisCluster.ping(port)) {
                continue; // running (ours, or one this state directory started before)
            }
            Files.createDirectories(layout.nodeDir(port));
            long pid = p.launch(layout.serverCommand(port), layout.nodeDir(port));
            progress.accept(String.format("%-22s started (pid %d, 127.0.0.1:%d, log %s)", "redis-" + port, pid, port, p.log()));
        }
        layout.form();
        progress.accept(String.format("%-22s up (3 masters + 3 replicas; REDIS_URL=%s)", name(), url()));
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void stop() throws Exception {
        for (int port : layout.ports()) {
            process(port).stop(progress);
        }
    }

    /** One line per Redis node: master or replica (with its link state and replication lag in bytes), memory. */
    @Override
    public List<NodeStatus> status() {
        List<NodeStatus> out = new ArrayList<>();
        for (int port : layout.ports()) {
            String name = "redis-" + port;
            DetachedProcess p = process(port);
            if (!LocalRedisCluster.ping(port)) {
                out.add(NodeStatus.down(name, "redis", "nothing answers at 127.0.0.1:" + port + " (log " + p.log() + ")"));
                continue;
            }
            String role = LocalRedisCluster.info(port, "role");
            String lag = "";
            String what;
            if ("slave".equals(role)) {
                String link = LocalRedisCluster.info(port, "master_link_status");
                what = "replica of " + LocalRedisCluster.info(port, "master_port");
                long behind = offsetBehind(port);
                lag = "link " + link + (behind >= 0 ? ", " + behind + " B behind" : "");
            } else {
                what = "master";
            }
            out.add(new NodeStatus(name, what, true, lag, p.alive() ? p.rssBytes() : OptionalLong.empty(),
                    "127.0.0.1:" + port + ", used_memory " + LocalRedisCluster.info(port, "used_memory_human")
                            + ", cluster " + LocalRedisCluster.info(port, "cluster_state")
                            + (p.alive() ? ", pid " + p.pid().orElseThrow() : ", not started by csr")));
        }
        return out;
    }

    /** How far a replica's applied offset is behind its master's, in bytes; -1 when unknown. */
    private static long offsetBehind(int replicaPort) {
        try {
            long mine = Long.parseLong(LocalRedisCluster.info(replicaPort, "slave_repl_offset"));
            long master = Long.parseLong(LocalRedisCluster.info(Integer.parseInt(LocalRedisCluster.info(replicaPort, "master_port")),
                    "master_repl_offset"));
            return Math.max(0, master - mine);
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
