package io.csr.job.cluster.node;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The nodes of a local topology in start order (ZooKeeper before the ClickHouse replicas that need it, ClickHouse
 * before the Flink cluster whose jobs write to it). {@link #up()} starts them in this order, {@link #down()} stops them
 * in the reverse one.
 */
public record Topology(List<Node> nodes) {
    public Topology {
        nodes = List.copyOf(nodes);
        Set<String> names = new HashSet<>();
        for (Node n : nodes) {
            if (!names.add(n.name())) {
                throw new IllegalArgumentException("two nodes of the topology are named '" + n.name() + "'");
            }
        }
    }

    public void up() throws Exception {
        for (Node n : nodes) {
            n.start();
        }
    }

    /** Stops every node, in reverse start order; a node that fails to stop does not keep the others running. */
    public void down() throws Exception {
        Exception first = null;
        for (int i = nodes.size() - 1; i >= 0; i--) {
            try {
                nodes.get(i).stop();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    public List<NodeStatus> status() {
        List<NodeStatus> out = new ArrayList<>();
        for (Node n : nodes) {
            out.addAll(n.status());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    public <T extends Node> List<T> nodesOf(Class<T> kind) {
        return (List<T>) nodes.stream().filter(kind::isInstance).toList();
    }
}
