package io.csr.job.cluster.node;

import java.util.List;

/**
 * One kind of node of the local topology ({@code csr cluster up --ha}): a process, or a group of processes that are
 * started and stopped together (Flink's JobManager and TaskManagers). New kinds (Redis Cluster, NATS cluster,
 * gateways) implement this and join the {@link Topology}; nothing else in the orchestration knows them by name.
 *
 * <p>{@link #start()} is idempotent (what runs is left alone, a node that died is started again), {@link #stop()}
 * stops only what this node started (its pid files), {@link #status()} never throws: a node that is down says so.
 */
public interface Node {
    /** A short stable name, e.g. {@code clickhouse-s1r2}; unique within a topology. */
    String name();

    void start() throws Exception;

    void stop() throws Exception;

    /** One line per process of this node (a group has several). */
    List<NodeStatus> status();
}
