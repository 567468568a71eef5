package io.csr.perf.cohort;

import io.csr.common.migrate.Migrations;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The job module's {@code ClickHouseClusterProcess} (shards × replicas on ZooKeeper) in a process of its own, started
 * from the classes the reactor built before this module (job and gateway never meet in one JVM): its output but the
 * READY line goes to {@code log}; closing its standard input stops the servers.
 */
public final class ClusterProcess {
    private ClusterProcess() {
    }

    /** Starts the cluster under {@code dir}. */
    public static Process start(Path dir, String name, int shards, int replicas, Path log) throws Exception {
        Path jobTarget = Migrations.sqlRoot().getParent().resolve("job/target");
        String cp = String.join(File.pathSeparator, jobTarget.resolve("test-classes").toString(), jobTarget.resolve("classes").toString(),
                Files.readString(jobTarget.resolve("classpath.txt")).trim(), Files.readString(jobTarget.resolve("classpath-runtime.txt")).trim());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", cp, "io.csr.job.testing.ClickHouseClusterProcess", dir.toString(), name, String.valueOf(shards), String.valueOf(replicas)));
        return new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    }

    /** The READY line's words after READY: the cluster's name, then each server's URL, shard-major (s1r1, s1r2, s2r1, …). */
    public static List<String> awaitReady(Process p, int servers, Path log) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        StringBuilder seen = new StringBuilder();
        String line;
        while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
            if (line.startsWith("READY ")) {
                List<String> words = Arrays.asList(line.substring(6).trim().split(" "));
                if (words.size() != servers + 1) {
                    throw new IllegalStateException("expected the cluster's name and " + servers + " servers: " + line);
                }
                return words;
            }
            seen.append(line).append('\n');
        }
        throw new IllegalStateException("the ClickHouse cluster did not start (alive " + p.isAlive() + "):\n" + seen + Files.readString(log));
    }

    /** Stops the servers (the process ends when its input does), killing it when it does not end within 90 s. */
    public static void stop(Process p) throws Exception {
        p.getOutputStream().close();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }
}
