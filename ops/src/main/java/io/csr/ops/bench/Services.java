package io.csr.ops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the fan-out, replay and end-to-end benchmarks run beside their client: a gateway of their own (never the user's,
 * own port and Redis prefix, limits raised for 10k connections), the peers (nginx+nchan, Pushpin through
 * perf/peers/peers.sh) and, for e2e, a job of its own. {@link #close} stops whatever was started.
 */
final class Services implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Jvm jvm;
    private final Map<String, String> env;
    private final Duration startLimit;
    private final List<Process> started = new ArrayList<>();
    private boolean peers;
    Process gateway;

    /** {@code startLimit}: how long a gateway or job it starts may take to be ready (the drivers' --start-seconds). */
    Services(Jvm jvm, Map<String, String> env, Duration startLimit) {
        this.jvm = jvm;
        this.env = env;
        this.startLimit = startLimit;
    }

    /** {@code perf/peers/peers.sh start WHICH}: installs (apt) and runs them on loopback under CSR_STATE_DIR/peers. */
    void startPeers(String which) throws IOException, InterruptedException {
        peers = true;
        jvm.runOrFail(peersCommand("start", which), peersEnv(), null, 600, "the peers (" + which + ") did not start");
    }

    /** The server pids of one peer, for the client's CPU and memory accounting. */
    String peerPids(String which) throws IOException, InterruptedException {
        Path out = jvm.logDir().resolve("peers-pids-" + which + ".txt");
        java.nio.file.Files.deleteIfExists(out);
        jvm.runOrFail(peersCommand("pids", which), peersEnv(), out, 30, "no pids of " + which);
        return java.nio.file.Files.readString(out).strip();
    }

    private List<String> peersCommand(String verb, String which) {
        return List.of(jvm.root().resolve("perf/peers/peers.sh").toString(), verb, which);
    }

    Map<String, String> peersEnv() {
        Map<String, String> e = new HashMap<>(env);
        e.put("PEERS_DIR", jvm.stateDir().resolve("peers").toString());
        return e;
    }

    /** A gateway for the benchmark on 127.0.0.1:{@code port} (bin/csr run gateway), healthy within the start limit. */
    void startGateway(int port, String redisPrefix) throws Exception {
        refuseTaken(port, "the benchmark gateway", "BENCH_GATEWAY_PORT");
        Map<String, String> e = new HashMap<>(env);
        e.putAll(Map.of("GATEWAY_PORT", String.valueOf(port), "GATEWAY_HOST", "127.0.0.1", "REDIS_KEY_PREFIX", redisPrefix,
                "STREAM_MAX_CONNECTIONS", "30000", "STREAM_MAX_CONNECTIONS_PER_COMPANY", "30000", "CSR_GATEWAY_BACKGROUND", "1"));
        Path log = jvm.logDir().resolve("bench-gateway.log");
        gateway = track(jvm.start(List.of(jvm.root().resolve("bin/csr").toString(), "run", "gateway"), e, log));
        String health = "http://127.0.0.1:" + port + "/stream/health";
        await(startLimit, "the benchmark gateway (" + health + ")", log, () -> get(health) == 200);
        System.out.println("    gateway    started for the benchmark (127.0.0.1:" + port + ", pid " + gateway.pid() + ")");
    }

    /** A job of the benchmark's own (bin/csr run job --fresh SETTINGS), RUNNING on its REST API within the start limit. */
    void startJob(String restUrl, List<String> settings) throws Exception {
        refuseTaken(URI.create(restUrl).getPort(), "the benchmark job", "BENCH_FLINK_PORT");
        Map<String, String> e = new HashMap<>(env);
        e.put("CSR_JOB_BACKGROUND", "1");
        List<String> cmd = new ArrayList<>(List.of(jvm.root().resolve("bin/csr").toString(), "run", "job", "--fresh"));
        cmd.addAll(settings);
        Path log = jvm.logDir().resolve("bench-e2e-job.log");
        Process job = track(jvm.start(cmd, e, log));
        await(startLimit, "the benchmark job (RUNNING on " + restUrl + ")", log, () -> running(restUrl));
        System.out.println("    job        running for the benchmark (pid " + job.pid() + ", REST " + restUrl + ")");
    }

    Process track(Process p) {
        started.add(p);
        return p;
    }

    private static boolean running(String restUrl) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(restUrl + "/jobs/overview")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return false;
            }
            for (JsonNode job : Json.mapper().readTree(r.body()).path("jobs")) {
                if ("RUNNING".equals(job.path("state").asText())) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static int get(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static void refuseTaken(int port, String what, String key) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        } catch (IOException free) {
            return;
        }
        throw new IllegalStateException("port " + port + " for " + what + " is already in use; stop that process or set " + key + " to a free port");
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /**
     * Polls {@code check} every 200 ms until it holds, for at most {@code limit}, saying every 15 s that it still waits;
     * a started process that died ends the wait at once. Either failure names {@code what}'s log and ends with its last
     * lines: a slow start on a loaded machine looks different there from one that failed.
     */
    void await(Duration limit, String what, Path log, Check check) throws Exception {
        long start = System.nanoTime();
        long deadline = start + limit.toNanos();
        long nextProgress = start + PROGRESS_EVERY.toNanos();
        while (!check.ok()) {
            for (Process p : started) {
                if (!p.isAlive()) {
                    throw new IllegalStateException(what + " is not up: its process exited (" + p.exitValue() + ") after "
                            + seconds(start) + " s; log " + log + tail(log));
                }
            }
            long now = System.nanoTime();
            if (now >= deadline) {
                throw new IllegalStateException(what + " was not ready within " + limit.toSeconds() + " s (--start-seconds; a "
                        + "loaded machine may need more); log " + log + tail(log));
            }
            if (now > nextProgress) {
                System.out.println("    still waiting for " + what + ": " + seconds(start) + " of " + limit.toSeconds() + " s (log " + log + ")");
                nextProgress += PROGRESS_EVERY.toNanos();
            }
            Thread.sleep(200);
        }
    }

    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(15);

    private static long seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000_000L;
    }

    /** The last 20 lines of {@code log}, each indented, or nothing when it cannot be read. */
    static String tail(Path log) {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(log);
            StringBuilder sb = new StringBuilder(", last lines:");
            for (String line : lines.subList(Math.max(0, lines.size() - 20), lines.size())) {
                sb.append("\n      ").append(line);
            }
            return sb.toString();
        } catch (IOException | java.io.UncheckedIOException e) {
            return " (not readable: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws Exception {
        for (Process p : started.reversed()) {
            Jvm.stop(p);
        }
        if (peers) {
            jvm.run(peersCommand("stop", "all"), peersEnv(), null, 120);
        }
    }
}
