package io.csr.job.testing;

import io.csr.job.cluster.node.ClickHouseNode;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A {@link ClickHouseClusterFixture} in a process of its own, for a module that may not load the job's classes (the
 * gateway's side, perf/cohort): {@code java -cp <job test-classes, classes and classpath> …ClickHouseClusterProcess
 * <dir> <name> <shards> <replicas>} starts the cluster, prints {@code READY <cluster> <url of each server…>} and
 * stops every server when its standard input ends (the caller closed it, or died).
 */
public final class ClickHouseClusterProcess {
    private ClickHouseClusterProcess() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ClickHouseClusterProcess <dir> <name> <shards> <replicas>");
            System.exit(2);
        }
        try (ClickHouseClusterFixture cluster = new ClickHouseClusterFixture(Path.of(args[0]), args[1],
                Integer.parseInt(args[2]), Integer.parseInt(args[3]))) {
            StringBuilder ready = new StringBuilder("READY ").append(cluster.layout.cluster());
            for (ClickHouseNode server : cluster.servers) {
                ready.append(' ').append(server.url());
            }
            System.out.println(ready);
            System.out.flush();
            try {
                while (System.in.read() >= 0) {
                    // the caller's end of the pipe stays open while it needs the cluster
                }
            } catch (IOException e) {
                // the pipe broke: the caller is gone
            }
        }
    }
}
