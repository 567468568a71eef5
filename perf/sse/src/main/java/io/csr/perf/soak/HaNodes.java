package io.csr.perf.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The stateful tiers of the HA topology for {@code csr soak --topology ha}: ZooKeeper, ClickHouse 1 shard × 2 replicas,
 * Redis Cluster 3 + 3, NATS 3 nodes, started by the job module's {@code io.csr.job.cluster.node.HaNodesProcess} (the
 * node kinds of {@code csr cluster up --ha}, on a block of ports no other soak on the machine holds, and data under the
 * soak's work dir) in a process of its own, as this module never loads the job's classes. Nodes are killed and started again through it by
 * name ({@code clickhouse-s1r1}, {@code redis-<port>}, {@code nats-n0}, …); closing this stops every node.
 */
final class HaNodes implements AutoCloseable {
    private final Process process;
    private final Writer commands;
    private final BufferedReader answers;
    private final Path log;
    /** CLICKHOUSE_URL, CLICKHOUSE_CLUSTER, CLICKHOUSE_TCP, REDIS_URL, REDIS_PORTS, NATS_URL, ZOOKEEPER as the process printed them. */
    final Map<String, String> endpoints = new LinkedHashMap<>();
    private final Map<String, Integer> starts = new LinkedHashMap<>();

    HaNodes(Path root, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        this.log = Files.createDirectories(dir.getParent().resolve("logs")).resolve("ha-nodes.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-cp",
                OwnServices.moduleClasspath(root, "job", "csr-job", true), "io.csr.job.cluster.node.HaNodesProcess", dir.toString()));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        commands = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String ready = answers.readLine(); // the nodes start within a few minutes or the process exits with why
        if (ready == null || !ready.startsWith("READY ")) {
            process.waitFor(30, TimeUnit.SECONDS);
            throw new IllegalStateException("the HA nodes did not start (" + ready + "); see " + log);
        }
        for (String kv : ready.substring(6).trim().split(" ")) {
            int eq = kv.indexOf('=');
            endpoints.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        for (String n : nodes()) {
            starts.put(n, 1);
        }
    }

    /** Every node by name. */
    List<String> nodes() {
        List<String> out = new ArrayList<>(List.of("clickhouse-s1r1", "clickhouse-s1r2", "nats-n0", "nats-n1", "nats-n2"));
        redisPorts().forEach(p -> out.add("redis-" + p));
        return out;
    }

    List<Integer> redisPorts() {
        return Arrays.stream(endpoints.get("REDIS_PORTS").split(",")).map(Integer::parseInt).toList();
    }

    /** HTTP URLs of the two ClickHouse replicas, s1r1 first. */
    List<String> clickHouseUrls() {
        return List.of(endpoints.get("CLICKHOUSE_URL").split(","));
    }

    /** kill -9 of one node; returns once it is gone. */
    void kill(String node) throws IOException {
        command("kill " + node);
    }

    /** Starts the node's kind again (only what is dead) and waits until it is healthy. */
    void start(String node) throws IOException {
        command("start " + node);
        starts.merge(node, 1, Integer::sum);
    }

    /** Starts per node (1: never restarted). */
    Map<String, Integer> starts() {
        return starts;
    }

    private synchronized void command(String line) throws IOException {
        commands.write(line + "\n");
        commands.flush();
        String answer = answers.readLine();
        if (answer == null) {
            throw new IllegalStateException("the HA nodes process ended during '" + line + "'; see " + log);
        }
        if (!answer.equals("OK")) {
            throw new IllegalStateException("'" + line + "' failed: " + answer + "; see " + log);
        }
    }

    /** Ends the command stream: the process stops every node and exits. */
    @Override
    public void close() throws InterruptedException {
        try {
            commands.close();
        } catch (IOException e) {
            // the process is gone already
        }
        if (!process.waitFor(180, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }
}
