package io.csr.job.cluster.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseLayoutTest {
    @Test
    void serversAreShardMajorWithConsecutivePorts() {
        ClickHouseLayout l = ClickHouseLayout.of("csr", 2, 2);
        assertThat(l.serverList()).extracting(ClickHouseLayout.Server::name).containsExactly("s1r1", "s1r2", "s2r1", "s2r2");
        assertThat(l.serverList().get(3).httpPort()).isEqualTo(ClickHouseLayout.HTTP_BASE + 3);
        assertThat(l.serverList().get(3).tcpPort()).isEqualTo(ClickHouseLayout.TCP_BASE + 3);
    }

    @Test
    void remoteServersListEachShardsReplicasInOneOrder() {
        String xml = ClickHouseLayout.of("csr", 2, 2).remoteServersXml();
        assertThat(xml).containsSubsequence("<csr>", "<shard>", "<internal_replication>true</internal_replication>",
                "<port>19100</port>", "<port>19101</port>", "</shard>", "<shard>", "<port>19102</port>", "<port>19103</port>", "</csr>");
    }

    @Test
    void eachServerGetsItsOwnMacrosPortsAndZooKeeperRoot(@TempDir Path tmp) throws Exception {
        ClickHouseLayout l = new ClickHouseLayout("it_x", 1, 2, 28123, 29100, 29200, "/csr-clickhouse/it_x");
        ClickHouseNode second = ClickHouseNode.all(l, "127.0.0.1:2181,127.0.0.1:2182", tmp, s -> { }).get(1);
        second.writeConfig();
        String config = Files.readString(second.dataDir().resolve("config.xml"));
        assertThat(config).contains("<http_port>28124</http_port>", "<tcp_port>29101</tcp_port>",
                "<interserver_http_port>29201</interserver_http_port>", "<shard>1</shard>", "<replica>s1r2</replica>",
                "<cluster>it_x</cluster>", "<root>/csr-clickhouse/it_x</root>",
                "<node index=\"1\"><host>127.0.0.1</host><port>2181</port></node>",
                "<node index=\"2\"><host>127.0.0.1</host><port>2182</port></node>");
        // an XML comment may not hold "--" (as in "--ha"): 18.16 refuses the whole file and does not start
        assertThat(config.replaceAll("(?s)<!--(.*?)-->", "$1")).doesNotContain("--");
        assertThat(Files.readString(second.dataDir().resolve("users.xml"))).contains("<load_balancing>in_order</load_balancing>");
        assertThat(second.name()).isEqualTo("clickhouse-it_x-s1r2");
    }

    @Test
    void refusesNamesAndSizesItCannotRun() {
        assertThatThrownBy(() -> ClickHouseLayout.of("csr;drop", 1, 2)).hasMessageContaining("must match");
        assertThatThrownBy(() -> ClickHouseLayout.of("csr", 0, 2)).hasMessageContaining("1..8 shards");
    }
}
