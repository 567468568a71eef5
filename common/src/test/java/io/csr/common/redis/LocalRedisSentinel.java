package io.csr.common.redis;

import io.csr.common.net.LocalPorts;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Sentinel-managed master on loopback from Debian's {@code redis-server}: a master, one replica and one Sentinel
 * (quorum 1, {@code down-after-milliseconds 1000}, {@code failover-timeout 5000}) of the test's own, on free ports
 * below Linux's range for outgoing connections. The Sentinel ITCases of the job (the update writer) and of the gateway
 * (the tail readers) share it; {@link #close()} kills the processes it started (and only them) and deletes its
 * directory. No persistence: like the streams' Redis, a node that lost its data resyncs from the master.
 */
public final class LocalRedisSentinel implements AutoCloseable {
    private final Path dir;
    private final String masterName;
    private final int first;
    private final int second;
    private final int sentinel;
    private final Map<Integer, Process> processes = new LinkedHashMap<>();

    private LocalRedisSentinel(Path dir, String masterName, int base) {
        this.dir = dir;
        this.masterName = masterName;
        this.first = base;
        this.second = base + 1;
        this.sentinel = base + 2;
    }

    /** Starts the master, its replica (synced) and the Sentinel (which knows the replica) in {@code dir}. */
    public static LocalRedisSentinel start(Path dir, String masterName) throws IOException, InterruptedException {
        LocalRedisSentinel s = new LocalRedisSentinel(dir, masterName, LocalPorts.freeBase(14_000, 300, 0, 1, 2));
        try {
            s.launch();
            return s;
        } catch (IOException | InterruptedException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void launch() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        processes.put(first, redis(first));
        processes.put(second, redis(second, "--replicaof", "127.0.0.1", Integer.toString(first)));
        LocalRedisCluster.await(() -> "up".equals(replication(second, "master_link_status")), "replica " + second + " did not sync with " + first);
        Path conf = dir.resolve("sentinel.conf");
        Files.writeString(conf, """
                port %d
                bind 127.0.0.1
                dir "%s"
                sentinel monitor %s 127.0.0.1 %d 1
                sentinel down-after-milliseconds %s 1000
                sentinel failover-timeout %s 5000
                """.formatted(sentinel, dir, masterName, first, masterName, masterName));
        processes.put(sentinel, new ProcessBuilder("redis-server", conf.toString(), "--sentinel").redirectErrorStream(true)
                .redirectOutput(dir.resolve("sentinel.log").toFile()).start());
        LocalRedisCluster.await(() -> {
            try (Jedis s = new Jedis("127.0.0.1", sentinel, 1_000)) {
                return !s.sentinelReplicas(masterName).isEmpty();
            } catch (RuntimeException e) {
                return false;
            }
        }, "sentinel " + sentinel + " did not find the replica of " + masterName);
    }

    private Process redis(int port, String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--repl-diskless-sync-delay", "0"));
        cmd.addAll(List.of(more));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(port + ".log").toFile()).start();
    }

    /** The REDIS_URL of this master: {@code redis-sentinel://127.0.0.1:<sentinel>/<master name>}. */
    public String url() {
        return "redis-sentinel://127.0.0.1:" + sentinel + "/" + masterName;
    }

    /** The port of the master the Sentinel names now. */
    public int master() {
        try (Jedis s = new Jedis("127.0.0.1", sentinel, 1_000)) {
            return HostAndPort.from(String.join(":", s.sentinelGetMasterAddrByName(masterName))).getPort();
        }
    }

    /** The ports of the two data nodes: the first master, then its first replica. */
    public List<Integer> ports() {
        return List.of(first, second);
    }

    /** kill -9 of the master the Sentinel names now, as in a crash; returns its port once the process is gone. */
    public int killMaster() {
        int port = master();
        Process p = processes.get(port);
        p.destroyForcibly();
        p.onExit().join();
        return port;
    }

    /** {@code SENTINEL FAILOVER}: the Sentinel promotes the replica without asking the master; returns the old master's port. */
    public int failover() {
        int old = master();
        try (Jedis s = new Jedis("127.0.0.1", sentinel, 1_000)) {
            s.sentinelFailover(masterName);
        }
        return old;
    }

    /** Waits until the Sentinel names another master than {@code old} and that node says it is the master. */
    public int awaitNewMaster(int old) throws InterruptedException {
        LocalRedisCluster.await(() -> {
            try {
                int now = master();
                return now != old && "master".equals(replication(now, "role"));
            } catch (RuntimeException e) {
                return false;
            }
        }, "sentinel " + sentinel + " did not promote a new master of " + masterName + " (was " + old + ")");
        return master();
    }

    /** Waits until the node on {@code port} replicates the master the Sentinel names, synced. */
    public void awaitReplicaSynced(int port) throws InterruptedException {
        LocalRedisCluster.await(() -> "slave".equals(replication(port, "role")) && "up".equals(replication(port, "master_link_status"))
                        && ("" + master()).equals(replication(port, "master_port")),
                "node " + port + " did not sync as a replica of the master of " + masterName);
    }

    /** The {@code field} of {@code INFO replication} on {@code port}, or "" when the node does not answer. */
    public static String replication(int port, String field) {
        try (Jedis j = new Jedis("127.0.0.1", port, 1_000)) {
            for (String line : j.info("replication").split("\r?\n")) {
                if (line.startsWith(field + ":")) {
                    return line.substring(field.length() + 1).strip();
                }
            }
            return "";
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** Kills every process this object started and deletes its directory. */
    @Override
    public void close() throws IOException {
        LocalRedisCluster.stop(processes, dir);
    }
}
