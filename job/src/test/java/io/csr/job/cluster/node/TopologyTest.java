package io.csr.job.cluster.node;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TopologyTest {
    private final List<String> calls = new ArrayList<>();

    private Node node(String name, boolean failStop) {
        return new Node() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void start() {
                calls.add("start " + name);
            }

            @Override
            public void stop() {
                calls.add("stop " + name);
                if (failStop) {
                    throw new IllegalStateException(name + " would not stop");
                }
            }

            @Override
            public List<NodeStatus> status() {
                return List.of(NodeStatus.down(name, "test", ""));
            }
        };
    }

    @Test
    void startsInOrderAndStopsInReverseEvenWhenOneFailsToStop() {
        Topology t = new Topology(List.of(node("zookeeper", false), node("clickhouse", true), node("flink", false)));
        assertThat(t.status()).extracting(NodeStatus::name).containsExactly("zookeeper", "clickhouse", "flink");
        assertThatThrownBy(() -> {
            t.up();
            t.down();
        }).hasMessage("clickhouse would not stop");
        assertThat(calls).containsExactly("start zookeeper", "start clickhouse", "start flink",
                "stop flink", "stop clickhouse", "stop zookeeper");
    }

    @Test
    void refusesTwoNodesOfOneName() {
        assertThatThrownBy(() -> new Topology(List.of(node("a", false), node("a", false))))
                .hasMessageContaining("two nodes of the topology are named 'a'");
    }
}
