package io.csr.job.cluster;

import io.csr.common.config.CsrConfig;

import java.nio.file.Path;

/**
 * The Java side of {@code csr cluster up|down [--forget-jobs]|status}: bin/csr finds the JDK, builds and starts ZooKeeper; this starts,
 * stops and reports the Flink processes. Exit code 3 from {@code status} when something is down.
 */
public final class LocalClusterMain {
    private LocalClusterMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (IllegalArgumentException | IllegalStateException e) {
            // a taken port, a process that died at start, a bad option: the message names it and what to do
            System.err.println(e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        String command = args.length == 0 ? "" : args[0];
        Path root = Path.of(System.getProperty("csr.root", ".")).toAbsolutePath().normalize();
        LocalCluster cluster = new LocalCluster(LocalClusterSettings.from(CsrConfig.fromEnvironment(), root),
                line -> System.out.println("    " + line));
        switch (command) {
            case "up" -> cluster.up();
            case "down" -> {
                cluster.down();
                if (args.length > 1 && args[1].equals("--forget-jobs")) {
                    cluster.forgetJobs();
                } else if (args.length > 1) {
                    throw new IllegalArgumentException("unknown option '" + args[1] + "' of cluster down; use --forget-jobs");
                }
            }
            case "status" -> {
                if (!cluster.status(line -> System.out.println("    " + line))) {
                    System.exit(3);
                }
            }
            default -> throw new IllegalArgumentException("unknown cluster command '" + command + "'; use up, down or status");
        }
    }
}
