package io.csr.job.cluster.node;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape of the local ClickHouse cluster: its name (what {@code ON CLUSTER} and {@code Distributed} name, and what
 * CLICKHOUSE_CLUSTER must say), shards × replicas, the ports of each server, and the ZooKeeper root its replicas keep
 * their logs under (so several topologies — a developer's and a test's — share one ZooKeeper without meeting).
 *
 * <p>Server {@code i} (0-based, shard-major: s1r1, s1r2, s2r1, …) listens on {@code httpBase + i} (HTTP),
 * {@code tcpBase + i} (native) and {@code interserverBase + i} (replication fetches).
 */
public record ClickHouseLayout(String cluster, int shards, int replicas, int httpBase, int tcpBase, int interserverBase,
                               String zookeeperRoot) {
    /** Default ports of {@code csr cluster up --ha}: beside the single server of {@code csr up} (8123/9000), not on it. */
    public static final int HTTP_BASE = 18123;
    public static final int TCP_BASE = 19100;
    public static final int INTERSERVER_BASE = 19200;

    public ClickHouseLayout {
        if (!cluster.matches("[A-Za-z][A-Za-z0-9_]{0,63}")) {
            throw new IllegalArgumentException("ClickHouse cluster name '" + cluster + "' must match [A-Za-z][A-Za-z0-9_]{0,63}");
        }
        if (shards < 1 || shards > 8 || replicas < 1 || replicas > 3) {
            throw new IllegalArgumentException("a local ClickHouse cluster has 1..8 shards of 1..3 replicas, got "
                    + shards + " x " + replicas);
        }
        if (!zookeeperRoot.matches("(/[A-Za-z0-9_.-]+)+")) {
            throw new IllegalArgumentException("ZooKeeper root '" + zookeeperRoot + "' must be an absolute path like /csr-clickhouse/local");
        }
    }

    public static ClickHouseLayout of(String cluster, int shards, int replicas) {
        return new ClickHouseLayout(cluster, shards, replicas, HTTP_BASE, TCP_BASE, INTERSERVER_BASE, "/csr-clickhouse/" + cluster);
    }

    public int servers() {
        return shards * replicas;
    }

    /** Every server, shard-major. */
    public List<Server> serverList() {
        List<Server> out = new ArrayList<>();
        int i = 0;
        for (int s = 1; s <= shards; s++) {
            for (int r = 1; r <= replicas; r++, i++) {
                out.add(new Server(s, r, httpBase + i, tcpBase + i, interserverBase + i));
            }
        }
        return out;
    }

    /** The {@code <remote_servers>} entry every server carries: replicas in the same order everywhere (in_order reads). */
    String remoteServersXml() {
        StringBuilder sb = new StringBuilder("        <").append(cluster).append(">\n");
        for (int s = 1; s <= shards; s++) {
            sb.append("            <shard>\n                <internal_replication>true</internal_replication>\n");
            for (Server server : serverList()) {
                if (server.shard() == s) {
                    sb.append("                <replica><host>127.0.0.1</host><port>").append(server.tcpPort())
                            .append("</port></replica>\n");
                }
            }
            sb.append("            </shard>\n");
        }
        return sb.append("        </").append(cluster).append(">\n").toString();
    }

    /** One server of the layout. */
    public record Server(int shard, int replica, int httpPort, int tcpPort, int interserverPort) {
        public String name() {
            return "s" + shard + "r" + replica;
        }

        public String url() {
            return "http://127.0.0.1:" + httpPort;
        }
    }
}
