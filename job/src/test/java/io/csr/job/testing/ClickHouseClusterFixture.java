package io.csr.job.testing;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.net.LocalPorts;
import io.csr.job.cluster.node.ClickHouseLayout;
import io.csr.job.cluster.node.ClickHouseNode;
import io.csr.job.cluster.node.Node;
import io.csr.job.cluster.node.Topology;
import io.csr.job.cluster.node.ZooKeeperNode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A ClickHouse cluster of the test's own, started by the same orchestration as {@code csr cluster up --ha}
 * ({@link Topology} of {@link ClickHouseNode}s): its own cluster name, ports, data directories and ZooKeeper root, on
 * the ZooKeeper {@code csr test} starts (ZOOKEEPER_QUORUM, 127.0.0.1:2181) or, when none answers there, on a
 * ZooKeeper of its own on a free port. Closing it stops every server (and its own ZooKeeper).
 */
public final class ClickHouseClusterFixture implements AutoCloseable {
    public final ClickHouseLayout layout;
    public final List<ClickHouseNode> servers;
    private final Path dir;
    private final Topology topology;
    private final String zookeeper;
    private final boolean sharedZooKeeper;

    public ClickHouseClusterFixture(Path dir, String name, int shards, int replicas) throws Exception {
        this.dir = dir;
        String shared = System.getProperty("ZOOKEEPER_QUORUM", System.getenv().getOrDefault("ZOOKEEPER_QUORUM", "127.0.0.1:2181"));
        List<Node> nodes = new ArrayList<>();
        sharedZooKeeper = answers(shared.split(",")[0]);
        if (sharedZooKeeper) {
            zookeeper = shared;
        } else {
            zookeeper = "127.0.0.1:" + TestClusters.freePort();
            nodes.add(new ZooKeeperNode(zookeeper, dir, line -> System.out.println("[" + name + "] " + line)));
        }
        int n = shards * replicas;
        int[] offsets = new int[3 * n];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = i;
        }
        // below Linux's ephemeral range (32768-60999): a port of a killed server must not be handed to some process's
        // outgoing connection, whose socket would keep the restarted server from listening there
        int base = LocalPorts.freeBase(24_000, 600, offsets);
        layout = new ClickHouseLayout(name, shards, replicas, base, base + n, base + 2 * n, "/csr-clickhouse-test/" + name);
        servers = ClickHouseNode.all(layout, zookeeper, dir, line -> System.out.println("[" + name + "] " + line));
        nodes.addAll(servers);
        topology = new Topology(nodes);
        topology.up();
    }

    /** The directory the servers' data and logs are under. */
    public Path dir() {
        return dir;
    }

    /** The ZooKeeper quorum the servers use. */
    public String zookeeper() {
        return zookeeper;
    }

    /** Settings of a client of the cluster through its first server (the replica reads and writes are pinned to). */
    public ClickHouseSettings settings(String database) {
        return new ClickHouseSettings(servers.get(0).url(), "default", "", database, false, 30_000, layout.cluster());
    }

    /** A client of one server only, reading its local tables (checks per replica). */
    public ClickHouseAccess direct(ClickHouseNode server, String database) {
        return ClickHouseAccess.open(new ClickHouseSettings(server.url(), "default", "", database, false, 30_000));
    }

    public ClickHouseNode server(int shard, int replica) {
        return servers.stream().filter(s -> s.server().shard() == shard && s.server().replica() == replica).findFirst().orElseThrow();
    }

    /** Stops every server (and a ZooKeeper of its own); on a shared ZooKeeper, deletes the cluster's root there. */
    @Override
    public void close() throws Exception {
        topology.down();
        if (sharedZooKeeper) {
            java.util.concurrent.CountDownLatch connected = new java.util.concurrent.CountDownLatch(1);
            org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper zk = new org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZooKeeper(
                    zookeeper, 10_000, e -> {
                        if (e.getState() == org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) {
                            connected.countDown();
                        }
                    });
            try {
                if (connected.await(15, java.util.concurrent.TimeUnit.SECONDS) && zk.exists(layout.zookeeperRoot(), false) != null) {
                    org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.ZKUtil.deleteRecursive(zk, layout.zookeeperRoot());
                }
            } finally {
                zk.close();
            }
        }
    }

    private static boolean answers(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 500);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
