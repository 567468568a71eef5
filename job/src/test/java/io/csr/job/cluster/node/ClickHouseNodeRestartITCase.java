package io.csr.job.cluster.node;

import io.csr.job.testing.ClickHouseClusterExtension;
import io.csr.job.testing.ClickHouseClusterFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The restart of a killed ClickHouse server when another process's socket holds one of its ports (an outgoing
 * connection given it as its local port while the server was down): the start waits until the port is free, and when
 * it stays busy the exception carries the server's own error from its err.log and names who holds the port.
 */
class ClickHouseNodeRestartITCase {
    @RegisterExtension
    static final ClickHouseClusterExtension clickhouse = new ClickHouseClusterExtension("it_restart_", 1, 1);

    @Test
    void aRestartWaitsUntilAConnectionHoldingItsPortHasClosed() throws Exception {
        ClickHouseClusterFixture cluster = clickhouse.cluster();
        ClickHouseNode server = cluster.server(1, 1);
        server.kill();
        try (ServerSocket peer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Socket holder = connectFrom(server.server().tcpPort(), peer)) {
            // released after longer than the server takes to start and fail on its bind, three times over
            CompletableFuture.runAsync(() -> close(holder), CompletableFuture.delayedExecutor(8, TimeUnit.SECONDS));
            server.start();
            assertThat(server.answers()).isTrue();
            assertThat(holder.isClosed()).as("started only after the holder closed").isTrue();
        }
    }

    @Test
    void aStartThatCannotListenSaysWhyFromTheServersErrorLog() throws Exception {
        ClickHouseClusterFixture cluster = clickhouse.cluster();
        ClickHouseNode server = cluster.server(1, 1);
        ClickHouseNode impatient = new ClickHouseNode(cluster.layout, server.server(), cluster.zookeeper(), cluster.dir(), line -> { },
                Duration.ofSeconds(1));
        server.kill();
        int port = server.server().interserverPort();
        try (ServerSocket peer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Socket holder = connectFrom(port, peer)) {
            assertThatThrownBy(impatient::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("clickhouse-server.err.log")
                    .hasMessageContaining("Address already in use: 127.0.0.1:" + port)
                    .hasMessageContaining("ports still in use after 1 s: " + port + " (ESTABLISHED to 127.0.0.1:" + peer.getLocalPort());
        }
        server.start();
        assertThat(server.answers()).isTrue();
    }

    @Test
    void aReplicaWhoseLocalPartsZooKeeperDoesNotKnowStartsFromZooKeepersList() throws Exception {
        ClickHouseClusterFixture cluster = clickhouse.cluster();
        ClickHouseNode server = cluster.server(1, 1);
        String db = "it_restart_" + Long.toHexString(System.nanoTime() & 0xffffff);
        server.execute("CREATE DATABASE " + db);
        server.execute("CREATE TABLE " + db + ".t (x UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/" + db
                + "/t', 'r1') ORDER BY x");
        server.execute("INSERT INTO " + db + ".t SELECT number FROM numbers(1000)");
        server.kill();
        // as if killed right after two fetched parts were renamed into place, before ZooKeeper recorded them
        Path table = server.dataDir().resolve("data/data/" + db + "/t");
        for (String name : List.of("all_1_1_0", "all_2_2_0")) {
            copyTree(table.resolve("all_0_0_0"), table.resolve(name));
        }
        server.start();
        assertThat(server.query("SELECT count() AS n FROM " + db + ".t").get(0).get("n").asLong())
                .as("the parts ZooKeeper lists, the unexpected ones detached").isEqualTo(1000);
        server.execute("DROP DATABASE " + db);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var files = java.nio.file.Files.walk(from)) {
            for (Path f : files.toList()) {
                java.nio.file.Files.copy(f, to.resolve(from.relativize(f).toString()));
            }
        }
    }

    /** An outgoing connection whose local port is {@code port}, as the kernel could have handed it out. */
    private static Socket connectFrom(int port, ServerSocket peer) throws IOException {
        Socket s = new Socket();
        s.setSoLinger(true, 0); // its close resets: no TIME_WAIT keeps the port another 60 s
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        s.connect(peer.getLocalSocketAddress());
        return s;
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
