package io.csr.job.cluster.node;

import io.csr.common.net.LocalPorts;
import io.csr.common.redis.LocalRedisCluster;
import io.csr.common.redis.RedisEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.UnifiedJedis;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Redis Cluster node kind of {@code csr cluster up --ha} on its own ports and state directory: up gives 3 masters
 * and 3 synced replicas as detached processes with pid files, a second up starts nothing, a node killed with kill -9
 * is started again by the next up and the cluster is whole again, down stops every process it started.
 */
class RedisClusterNodeITCase {
    @TempDir
    Path state;
    private RedisClusterNode node;
    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        // 3 masters and 3 replicas, each with its cluster bus port (+10000)
        int base = LocalPorts.freeBase(11_000, 300, LocalRedisCluster.portOffsets(3, 1));
        node = new RedisClusterNode(base, state, progress::add);
    }

    @AfterEach
    void tearDown() throws Exception {
        node.stop();
    }

    @Test
    void upIsIdempotentRestartsAKilledNodeAndDownStopsAll() throws Exception {
        node.start();
        List<NodeStatus> status = node.status();
        assertThat(status).hasSize(6).allMatch(NodeStatus::up);
        assertThat(status).filteredOn(s -> s.role().equals("master")).hasSize(3);
        assertThat(status).filteredOn(s -> s.role().startsWith("replica of")).hasSize(3)
                .allMatch(s -> s.lag().startsWith("link up"));
        try (UnifiedJedis redis = RedisEndpoint.parse(node.url()).open("it", 2_000, 2)) {
            redis.set("it:{acme}", "1");
            assertThat(redis.get("it:{acme}")).isEqualTo("1");
        }

        progress.clear();
        node.start();
        assertThat(progress).noneMatch(line -> line.contains("started (pid"));

        NodeStatus victim = status.get(5);
        int port = Integer.parseInt(victim.name().substring("redis-".length()));
        new DetachedProcess(victim.name(), state.resolve("run"), state.resolve("logs/" + victim.name() + ".log")).kill();
        assertThat(LocalRedisCluster.ping(port)).isFalse();
        assertThat(node.status()).filteredOn(s -> !s.up()).extracting(NodeStatus::name).containsExactly(victim.name());

        node.start();
        assertThat(progress).anyMatch(line -> line.startsWith(victim.name()) && line.contains("started (pid"));
        assertThat(node.status()).hasSize(6).allMatch(NodeStatus::up);

        node.stop();
        assertThat(node.status()).noneMatch(NodeStatus::up);
    }
}
