package io.csr.job.cluster;

import io.csr.common.config.CsrConfig;
import io.csr.job.cluster.node.ClickHouseLayout;
import io.csr.job.cluster.node.ClickHouseNode;
import io.csr.job.cluster.node.ZooKeeperNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ClusterCommandTest {
    @TempDir
    Path tmp;

    private CsrConfig config() {
        return CsrConfig.of(Map.of("CSR_STATE_DIR", tmp.toString(), "FLINK_REST_URL", "http://127.0.0.1:1",
                "ZOOKEEPER_QUORUM", "127.0.0.1:1"));
    }

    @Test
    void anUnknownSubcommandOrOptionIsAUsageError() {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            assertThat(ClusterCommand.run(config(), tmp, new String[]{"sideways"}, s -> { })).isEqualTo(2);
            assertThat(ClusterCommand.run(config(), tmp, new String[]{"up", "--shards"}, s -> { })).isEqualTo(2);
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString()).contains("error [cluster]: ", "sideways", "see bin/csr cluster --help");
    }

    @Test
    void statusOfNothingRunningShowsEveryNodeDownAndExits3() throws Exception {
        TopologyChoice.ha(ClickHouseLayout.of("csr", 1, 2)).save(tmp);
        List<String> lines = new ArrayList<>();
        assertThat(ClusterCommand.run(config(), tmp, new String[]{"status"}, lines::add)).isEqualTo(3);
        assertThat(String.join("\n", lines)).contains("NODE", "ROLE", "LAG",
                "zookeeper", "clickhouse-csr-s1r1", "shard 1 replica 1", "clickhouse-csr-s1r2", "shard 1 replica 2",
                "flink-jobmanager", "flink-taskmanager-1", "flink-taskmanager-2", "DOWN",
                "gateway-1", "gateway-3", "gateway 2 of 3", "haproxy", "load balancer");
    }

    @Test
    void theHaChoiceIsRememberedForStatusAndDown() throws Exception {
        ClusterCommand c = new ClusterCommand(config(), tmp, s -> { });
        assertThat(c.topology(TopologyChoice.load(tmp)).nodes()).hasSize(2); // nothing recorded: ZooKeeper + Flink
        TopologyChoice.ha(ClickHouseLayout.of("csr", 2, 1)).save(tmp);
        var nodes = c.topology(TopologyChoice.load(tmp)).nodes();
        assertThat(nodes.get(0)).isInstanceOf(ZooKeeperNode.class);
        assertThat(nodes.subList(1, 3)).allMatch(n -> n instanceof ClickHouseNode)
                .extracting(n -> n.name()).containsExactly("clickhouse-csr-s1r1", "clickhouse-csr-s2r1");
        assertThat(nodes.get(3)).isInstanceOf(io.csr.job.cluster.node.NatsClusterNode.class); // issue 23
        assertThat(nodes.get(4)).isInstanceOf(io.csr.job.cluster.node.RedisClusterNode.class);
        assertThat(nodes.get(5)).isInstanceOf(FlinkClusterNode.class);
        assertThat(nodes.get(6)).isInstanceOf(io.csr.job.cluster.node.GatewaysNode.class);
        assertThat(nodes).hasSize(7);
    }
}
