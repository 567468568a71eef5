package io.csr.job.cluster.node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The stateful tiers of the HA topology ({@code csr cluster up --ha}'s node kinds, not copies of them) on ports and data of
 * a caller's own, in a process of its own, for a module that may not load the job's classes ({@code csr soak --topology
 * ha} in perf/sse): ZooKeeper, ClickHouse 1 shard × 2 replicas, Redis Cluster 3 masters + 3 replicas, NATS 3 nodes.
 *
 * <p>{@code java -cp <the job's class path> io.csr.job.cluster.node.HaNodesProcess <state dir>} takes one block of
 * loopback ports below the ephemeral range that no other such process holds ({@link #reserveBase}), starts every node,
 * prints {@code READY KEY=VALUE …} (CLICKHOUSE_URL with both replicas, CLICKHOUSE_CLUSTER, REDIS_URL, NATS_URL,
 * ZOOKEEPER, REDIS_PORTS, CLICKHOUSE_TCP, and GATEWAY_PORTS: free ports of the block for the caller's gateways and
 * HAProxy) on one line, then obeys one command a line on standard input, answering
 * {@code OK} or {@code ERR <why>} on one line each:
 * <ul>
 *   <li>{@code kill <node>}: kill -9 of {@code clickhouse-s1r1|clickhouse-s1r2|redis-<port>|nats-n<i>}, returns once it is gone;</li>
 *   <li>{@code start <node>}: starts that node's kind again (idempotent, as {@code cluster up}: only what is dead), waits until
 *       it is healthy (a restarted Redis node rejoins as a replica, the cluster {@code ok} on every node).</li>
 * </ul>
 * When standard input ends (the caller closed it, or died) every node is stopped. Progress goes to standard error.
 */
public final class HaNodesProcess {
    private final ZooKeeperNode zookeeper;
    private final List<ClickHouseNode> clickhouse;
    private final RedisClusterNode redis;
    private final NatsClusterNode nats;
    private final Topology topology;
    private final ClickHouseLayout layout;
    private final int redisBase;
    /** Ports kept free for the caller's gateways and their HAProxy (its last): +60…, not started here. */
    static final int GATEWAY_PORTS = 4;

    HaNodesProcess(Path stateDir, int base, Consumer<String> progress) {
        // one block: redis base..+5 (bus +10000), nats +10..12 (routes +110.., monitor +210..), ClickHouse http +20/21,
        // tcp +30/31, interserver +40/41, ZooKeeper +50, the caller's gateways +60..+63
        this.redisBase = base;
        this.zookeeper = new ZooKeeperNode("127.0.0.1:" + (base + 50), stateDir, progress);
        this.layout = new ClickHouseLayout("soak", 1, 2, base + 20, base + 30, base + 40, "/csr-clickhouse/soak-" + base);
        this.clickhouse = ClickHouseNode.all(layout, zookeeper.address(), stateDir, progress);
        this.nats = new NatsClusterNode(base + 10, stateDir, progress);
        this.redis = new RedisClusterNode(base, stateDir, progress);
        List<Node> nodes = new ArrayList<>();
        nodes.add(zookeeper);
        nodes.addAll(clickhouse);
        nodes.add(nats);
        nodes.add(redis);
        this.topology = new Topology(nodes);
    }

    /** Every port of the block starting at {@code base}. */
    static List<Integer> ports(int base) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            out.add(base + i);
            out.add(base + 10_000 + i);
        }
        for (int i = 0; i < 3; i++) {
            out.addAll(List.of(base + 10 + i, base + 110 + i, base + 210 + i));
        }
        for (int i = 0; i < 2; i++) {
            out.addAll(List.of(base + 20 + i, base + 30 + i, base + 40 + i));
        }
        out.add(base + 50);
        for (int i = 0; i < GATEWAY_PORTS; i++) {
            out.add(base + 60 + i);
        }
        return out;
    }

    /** The first block's base; blocks lie {@link #BLOCK_STRIDE} apart, so two blocks never share a port. */
    static final int FIRST_BASE = 20_000;
    /** Wider than a block's span below +10000 (base..+212), so the blocks 20000, 20300, … 21200 are disjoint. */
    static final int BLOCK_STRIDE = 300;
    static final int BLOCKS = 5;
    /** Held until this process exits (the OS releases a lock of a process that died): the block is taken. */
    private static final List<FileChannel> HELD = new ArrayList<>();

    /**
     * A block of ports of this process's own: one of {@link #BLOCKS} fixed, disjoint blocks from 20000 (all below the
     * usual ephemeral range, 32768–60999, with Redis's bus ports at +10000), tried in random order, taken when no other
     * process on this machine holds its lock file under {@code lockDir} and every port of it binds now. The lock, not
     * the bind check, keeps two soaks apart: their nodes start one after another over minutes, so a block's ports look
     * free to a second soak long after the first one chose it.
     */
    static int reserveBase(Path lockDir) throws IOException {
        Files.createDirectories(lockDir);
        List<Integer> bases = new ArrayList<>();
        for (int i = 0; i < BLOCKS; i++) {
            bases.add(FIRST_BASE + i * BLOCK_STRIDE);
        }
        Collections.shuffle(bases);
        List<String> taken = new ArrayList<>();
        for (int base : bases) {
            FileChannel channel = FileChannel.open(lockDir.resolve("ha-ports-" + base + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // this process holds it already
            }
            List<Integer> busy = lock == null ? List.of() : LoopbackPorts.busy(ports(base));
            if (lock != null && busy.isEmpty()) {
                synchronized (HELD) {
                    HELD.add(channel);
                }
                return base;
            }
            channel.close();
            taken.add(base + (lock == null ? " (held by another soak)" : " (ports in use: " + LoopbackPorts.describe(busy) + ")"));
        }
        throw new IllegalStateException("no free block of loopback ports for the HA nodes: " + String.join(", ", taken)
                + "; wait for the other soak to end, or free the ports");
    }

    Map<String, String> endpoints() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("CLICKHOUSE_URL", clickhouse.stream().map(ClickHouseNode::url).collect(Collectors.joining(",")));
        out.put("CLICKHOUSE_CLUSTER", layout.cluster());
        out.put("CLICKHOUSE_TCP", clickhouse.stream().map(c -> "127.0.0.1:" + c.server().tcpPort()).collect(Collectors.joining(",")));
        out.put("REDIS_URL", redis.url());
        out.put("REDIS_PORTS", redis.ports().stream().map(String::valueOf).collect(Collectors.joining(",")));
        out.put("NATS_URL", nats.url());
        out.put("ZOOKEEPER", zookeeper.address());
        List<String> gatewayPorts = new ArrayList<>();
        for (int i = 0; i < GATEWAY_PORTS; i++) {
            gatewayPorts.add(Integer.toString(redisBase + 60 + i));
        }
        out.put("GATEWAY_PORTS", String.join(",", gatewayPorts));
        return out;
    }

    /** One command line; the answer line. */
    String obey(String line) {
        String[] f = line.trim().split("\\s+");
        if (f.length != 2 || !(f[0].equals("kill") || f[0].equals("start"))) {
            return "ERR '" + line + "': give kill <node> or start <node>";
        }
        boolean kill = f[0].equals("kill");
        String node = f[1];
        try {
            for (ClickHouseNode c : clickhouse) {
                if (node.equals("clickhouse-" + c.server().name())) {
                    if (kill) {
                        c.kill();
                    } else {
                        c.start();
                    }
                    return "OK";
                }
            }
            if (node.matches("redis-\\d+") && redis.ports().contains(Integer.parseInt(node.substring(6)))) {
                if (kill) {
                    redis.process(Integer.parseInt(node.substring(6))).kill();
                } else {
                    redis.start();
                }
                return "OK";
            }
            if (node.matches("nats-n[0-2]")) {
                if (kill) {
                    nats.process(Integer.parseInt(node.substring(6))).kill();
                } else {
                    nats.start();
                }
                return "OK";
            }
            return "ERR unknown node '" + node + "': clickhouse-s1r1, clickhouse-s1r2, redis-<port> (" + endpoints().get("REDIS_PORTS")
                    + "), nats-n0..nats-n2";
        } catch (Exception e) {
            return "ERR " + node + ": " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: HaNodesProcess <state dir>");
            System.exit(2);
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Consumer<String> progress = s -> System.err.println("    " + s);
        HaNodesProcess nodes = new HaNodesProcess(Path.of(args[0]).toAbsolutePath(), reserveBase(Path.of(System.getProperty("java.io.tmpdir"), "csr-port-blocks")), progress);
        try {
            nodes.topology.up();
            out.println("READY " + nodes.endpoints().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(" ")));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.isBlank()) {
                    out.println(nodes.obey(line));
                }
            }
        } catch (IOException e) {
            progress.accept("standard input broke (" + e.getMessage() + "): stopping every node");
        } finally {
            nodes.topology.down();
        }
    }
}
