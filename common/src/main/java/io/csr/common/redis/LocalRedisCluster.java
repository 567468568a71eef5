package io.csr.common.redis;

import io.csr.common.net.LocalPorts;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.JedisClusterCRC16;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A Redis Cluster on loopback from Debian's {@code redis-server}: {@code masters} masters with {@code replicas}
 * replicas each, node {@code i} on port {@code basePort + i} with its data under {@code dir/<port>}, created with
 * {@code redis-cli --cluster create … --cluster-replicas N --cluster-yes}. What {@code csr cluster up --ha} starts
 * for the live-update streams (3 + 3), and what the failover ITCases start on their own ports.
 *
 * <p>Each node: no persistence (the streams are a 24 h cache the job re-publishes; a restarted node resyncs from its
 * master), {@code cluster-node-timeout} as given (a killed master's replica takes over after about that long plus an
 * election), and {@code cluster-require-full-coverage no}, so companies on the other masters keep streaming while one
 * slot range fails over. The caller owns the processes: {@link #close()} kills them (and only them).
 */
public final class LocalRedisCluster implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;
    private final int basePort;
    private final int masters;
    private final int replicas;
    private final int nodeTimeoutMs;
    private final Map<Integer, Process> processes = new LinkedHashMap<>();

    /**
     * A cluster (not started) on a base port from 11000–13990 where every node's port and cluster bus port is free now:
     * all below Linux's range for outgoing connections, where a node a test restarts could find its port taken.
     */
    public static LocalRedisCluster onFreePorts(Path dir, int masters, int replicas, int nodeTimeoutMs) throws IOException {
        return new LocalRedisCluster(dir, LocalPorts.freeBase(11_000, 300, portOffsets(masters, replicas)), masters, replicas, nodeTimeoutMs);
    }

    /** The ports of the nodes, and their cluster bus ports (+10000), as offsets from the base port. */
    public static int[] portOffsets(int masters, int replicas) {
        int nodes = masters * (1 + replicas);
        int[] offsets = new int[2 * nodes];
        for (int i = 0; i < nodes; i++) {
            offsets[i] = i;
            offsets[nodes + i] = 10_000 + i;
        }
        return offsets;
    }

    public LocalRedisCluster(Path dir, int basePort, int masters, int replicas, int nodeTimeoutMs) {
        if (masters < 3) {
            throw new IllegalArgumentException("a Redis Cluster needs at least 3 masters, got " + masters);
        }
        if (basePort < 1024 || basePort + masters * (1 + replicas) > 65535 - 10_000) {
            throw new IllegalArgumentException("base port " + basePort + " leaves no room for the cluster bus ports (port + 10000)");
        }
        this.dir = dir;
        this.basePort = basePort;
        this.masters = masters;
        this.replicas = replicas;
        this.nodeTimeoutMs = nodeTimeoutMs;
    }

    public List<Integer> ports() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < masters * (1 + replicas); i++) {
            out.add(basePort + i);
        }
        return out;
    }

    /** The REDIS_URL of this cluster: every node as a seed. */
    public String url() {
        StringBuilder sb = new StringBuilder("redis-cluster://");
        for (int p : ports()) {
            sb.append(sb.length() > 16 ? "," : "").append("127.0.0.1:").append(p);
        }
        return sb.toString();
    }

    /** Starts every node that is not running, forms the cluster when it is not formed yet, waits until it is ok. */
    public LocalRedisCluster start() throws IOException, InterruptedException {
        for (int port : ports()) {
            Process p = processes.get(port);
            if (p == null || !p.isAlive()) {
                processes.put(port, launch(port));
            }
        }
        return form();
    }

    /**
     * Waits for every node to answer, creates the cluster when it is not formed yet (a restarted node rejoins by its
     * {@code nodes.conf}), and waits until every node says {@code cluster_state:ok} and every replica has synced.
     * Whoever started the processes (this class, or {@code csr cluster up} as detached processes) calls this.
     */
    public LocalRedisCluster form() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        for (int port : ports()) {
            await(() -> ping(port), "redis-server on port " + port + " did not answer PING (log " + log(port) + ")");
        }
        if (!info(basePort, "cluster_state").equals("ok") && knownNodes(basePort) < ports().size()) {
            List<String> cmd = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
            ports().forEach(p -> cmd.add("127.0.0.1:" + p));
            cmd.addAll(List.of("--cluster-replicas", Integer.toString(replicas), "--cluster-yes"));
            Process create = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("cluster-create.log").toFile()).start();
            if (!create.waitFor(60, TimeUnit.SECONDS) || create.exitValue() != 0) {
                create.destroyForcibly();
                throw new IllegalStateException("redis-cli --cluster create failed; see " + dir.resolve("cluster-create.log"));
            }
        }
        for (int port : ports()) {
            await(() -> "ok".equals(info(port, "cluster_state")), "Redis Cluster node " + port + " did not reach cluster_state:ok");
        }
        // a replica that has not finished its first sync would take over with nothing: wait for every link
        for (int port : ports()) {
            await(() -> !"slave".equals(info(port, "role")) || "up".equals(info(port, "master_link_status")),
                    "Redis Cluster replica " + port + " did not finish its sync with its master");
        }
        return this;
    }

    private Process launch(int port) throws IOException {
        Path nodeDir = nodeDir(port);
        Files.createDirectories(nodeDir);
        return new ProcessBuilder(serverCommand(port)).directory(nodeDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(port).toFile())).start();
    }

    /** Where the node on {@code port} keeps its {@code nodes.conf} (its working directory). */
    public Path nodeDir(int port) {
        return dir.resolve(Integer.toString(port));
    }

    /** The command line of the node on {@code port}, to be run in {@link #nodeDir}. */
    public List<String> serverCommand(int port) {
        return List.of("redis-server",
                "--port", Integer.toString(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no",
                "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", Integer.toString(nodeTimeoutMs),
                "--cluster-require-full-coverage", "no",
                "--dir", nodeDir(port).toString(),
                "--cluster-replica-validity-factor", "0");
    }

    private Path log(int port) {
        return dir.resolve(port + ".log");
    }

    /** The port of the master now serving the slot of {@code key} (as that master itself says). */
    public int masterOf(String key) {
        int slot = JedisClusterCRC16.getSlot(key);
        for (int port : ports()) {
            if (!alive(port)) {
                continue;
            }
            if (!"master".equals(info(port, "role"))) {
                continue;
            }
            try (Jedis j = new Jedis("127.0.0.1", port, 2_000)) {
                if (servesSlot(j, slot)) {
                    return port;
                }
            } catch (RuntimeException e) {
                // a node going down: ask the next
            }
        }
        throw new IllegalStateException("no live master serves slot " + slot + " of '" + key + "'");
    }

    private static boolean servesSlot(Jedis j, int slot) {
        String myId = j.clusterMyId();
        for (String line : j.clusterNodes().split("\n")) {
            String[] f = line.split(" ");
            if (f.length < 9 || !f[0].equals(myId)) {
                continue;
            }
            for (int i = 8; i < f.length; i++) {
                if (f[i].startsWith("[")) {
                    continue; // a slot being migrated
                }
                String[] ab = f[i].split("-");
                int a = Integer.parseInt(ab[0]);
                int b = ab.length > 1 ? Integer.parseInt(ab[1]) : a;
                if (slot >= a && slot <= b) {
                    return true;
                }
            }
        }
        return false;
    }

    /** kill -9 of the node on {@code port}, as in a crash; returns once it is gone. */
    public void kill(int port) {
        Process p = processes.get(port);
        if (p != null) {
            p.destroyForcibly();
            p.onExit().join();
        }
    }

    public boolean alive(int port) {
        Process p = processes.get(port);
        return p != null && p.isAlive();
    }

    /** The {@code field} of INFO on {@code port}, or "" when the node does not answer. */
    public static String info(int port, String field) {
        try (Jedis j = new Jedis("127.0.0.1", port, 2_000)) {
            for (String line : j.info().split("\r?\n")) {
                if (line.startsWith(field + ":")) {
                    return line.substring(field.length() + 1).strip();
                }
            }
            for (String line : j.clusterInfo().split("\r?\n")) {
                if (line.startsWith(field + ":")) {
                    return line.substring(field.length() + 1).strip();
                }
            }
            return "";
        } catch (RuntimeException e) {
            return "";
        }
    }

    private static int knownNodes(int port) {
        String n = info(port, "cluster_known_nodes");
        return n.isEmpty() ? 0 : Integer.parseInt(n);
    }

    public static boolean ping(int port) {
        try (Jedis j = new Jedis("127.0.0.1", port, 1_000)) {
            return "PONG".equals(j.ping());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Waits up to 30 s for {@code condition}; fails with {@code whyNot}. The local Redis set-ups of this package share it. */
    static void await(BooleanSupplier condition, String whyNot) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(whyNot + " within " + START_TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }

    /** One line per node: port, role, alive, used memory. */
    public List<String> status() {
        List<String> out = new ArrayList<>();
        for (int port : ports()) {
            boolean up = alive(port) && ping(port);
            out.add(String.format("redis-%d  %-7s %-5s used_memory=%s", port, up ? info(port, "role") : "-", up ? "up" : "DOWN",
                    up ? info(port, "used_memory_human") : "-"));
        }
        return out;
    }

    /** Kills every node this object started and deletes the data directory. */
    @Override
    public void close() throws IOException {
        stop(processes, dir);
    }

    /** Kills these processes, waits for each to exit, forgets them and deletes {@code dir}: every local Redis set-up's close. */
    static void stop(Map<Integer, Process> processes, Path dir) throws IOException {
        for (Process p : processes.values()) {
            p.destroyForcibly();
            p.onExit().join();
        }
        processes.clear();
        deleteTree(dir);
    }

    /** Deletes {@code dir} and everything below it, if it exists. */
    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
