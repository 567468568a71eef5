package io.csr.job.cluster.node;

import io.csr.common.lb.HaproxyConfig;
import io.csr.common.lb.LoadBalancedGateways;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The gateway tier of {@code csr cluster up --ha}: {@link #GATEWAYS} gateway processes on loopback (ports
 * {@code basePort + 1 …}) behind Debian's HAProxy on {@code basePort}, with the configuration shipped in
 * {@code deploy/haproxy.cfg} ({@link HaproxyConfig}: affinity by companyId with consistent hashing, readiness checks,
 * SSE timeouts). The gateways run the built jar ({@code gateway/target}, as {@code bin/csr run gateway} does) with the
 * CLI's environment — the same Redis, PostgreSQL and ClickHouse settings — and are recorded in pid files like every
 * node; {@link #stop()} sends each gateway SIGTERM, so it drains (docs/scaling.md), and HAProxy last.
 * The job module only starts the gateway's process: it never imports the gateway (STYLE: boundaries).
 */
public final class GatewaysNode implements Node {
    public static final int GATEWAYS = 3;
    /** HAProxy's port; the gateways listen on the next ones (beside csr up's single gateway on 8080, not on it). */
    public static final int BASE_PORT = 18080;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private final Path repoRoot;
    private final Path dir;
    private final int basePort;
    private final List<DetachedProcess> gateways = new ArrayList<>();
    private final DetachedProcess haproxy;
    private final Consumer<String> progress;

    public GatewaysNode(Path repoRoot, Path stateDir, int basePort, Consumer<String> progress) {
        this.repoRoot = repoRoot;
        this.dir = stateDir.resolve("cluster/gateways");
        this.basePort = basePort;
        for (int i = 1; i <= GATEWAYS; i++) {
            gateways.add(new DetachedProcess("gateway-" + i, stateDir.resolve("run"), stateDir.resolve("logs/gateway-" + i + ".log")));
        }
        this.haproxy = new DetachedProcess("haproxy", stateDir.resolve("run"), stateDir.resolve("logs/haproxy.log"));
        this.progress = progress;
    }

    @Override
    public String name() {
        return "gateways";
    }

    int port(int i) {
        return basePort + 1 + i;
    }

    /** The generated HAProxy configuration of this node (the shipped one, on loopback ports). */
    HaproxyConfig haproxyConfig() {
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < GATEWAYS; i++) {
            servers.add("127.0.0.1:" + port(i));
        }
        return new HaproxyConfig("127.0.0.1:" + basePort, servers, 4_000, null);
    }

    @Override
    public void start() throws Exception {
        Path cp = repoRoot.resolve("gateway/target/classpath.txt");
        Path jar = repoRoot.resolve("gateway/target/csr-gateway-0.1.0-SNAPSHOT.jar");
        if (!Files.isRegularFile(cp) || !Files.isRegularFile(jar)) {
            throw new IllegalStateException("the gateway is not built (" + jar + " or " + cp + " is missing): run bin/csr build");
        }
        if (!Files.isExecutable(Path.of(LoadBalancedGateways.HAPROXY))) {
            throw new IllegalStateException(LoadBalancedGateways.HAPROXY + " is missing: apt-get install -y haproxy (as root)");
        }
        String classpath = jar + ":" + Files.readString(cp).trim();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        for (int i = 0; i < GATEWAYS; i++) {
            DetachedProcess g = gateways.get(i);
            int port = port(i);
            if (g.alive()) {
                progress.accept(String.format("%-22s up (pid %d, port %d)", g.name(), g.pid().orElseThrow(), port));
                continue;
            }
            // the CLI's environment (REDIS_URL, POSTGRES_*, CLICKHOUSE_*, JWT_SECRET, …) with this gateway's own port
            long pid = g.launch(List.of("/usr/bin/env", "GATEWAY_HOST=127.0.0.1", "GATEWAY_PORT=" + port,
                    java.toString(), "-Xmx512m", "-cp", classpath, "io.csr.gateway.Main"), repoRoot);
            Await.until(() -> LoadBalancedGateways.status("http://127.0.0.1:" + port + "/health/ready") == 200, START_TIMEOUT, g::alive,
                    () -> g.name() + " not ready on port " + port + "; see " + g.log() + ":\n" + g.logTail(20));
            progress.accept(String.format("%-22s started (pid %d, http://127.0.0.1:%d, log %s)", g.name(), pid, port, g.log()));
        }
        if (haproxy.alive()) {
            progress.accept(String.format("%-22s up (pid %d, http://127.0.0.1:%d)", haproxy.name(), haproxy.pid().orElseThrow(), basePort));
            return;
        }
        Files.createDirectories(dir);
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(cfg, haproxyConfig().render());
        long pid = haproxy.launch(List.of(LoadBalancedGateways.HAPROXY, "-db", "-f", cfg.toString()), dir);
        Await.until(() -> LoadBalancedGateways.status("http://127.0.0.1:" + basePort + "/health/ready") == 200, START_TIMEOUT,
                haproxy::alive, () -> "HAProxy not answering on port " + basePort + "; see " + haproxy.log() + ":\n" + haproxy.logTail(20));
        progress.accept(String.format("%-22s started (pid %d, http://127.0.0.1:%d -> %d gateways, config %s)", haproxy.name(), pid,
                basePort, GATEWAYS, cfg));
    }

    @Override
    public void stop() throws IOException, InterruptedException {
        for (DetachedProcess g : gateways) {
            g.stop(progress); // SIGTERM: the gateway drains its streams to the others first
        }
        haproxy.stop(progress);
    }

    @Override
    public List<NodeStatus> status() {
        List<NodeStatus> out = new ArrayList<>();
        for (int i = 0; i < GATEWAYS; i++) {
            DetachedProcess g = gateways.get(i);
            int port = port(i);
            int ready = LoadBalancedGateways.status("http://127.0.0.1:" + port + "/health/ready");
            out.add(ready == 200 || g.alive()
                    ? new NodeStatus(g.name(), "gateway " + (i + 1) + " of " + GATEWAYS, ready == 200, ready == 200 ? "" : "not ready (" + ready + ")",
                            g.alive() ? g.rssBytes() : OptionalLong.empty(), "http://127.0.0.1:" + port + g.pid().map(p -> ", pid " + p).orElse(""))
                    : NodeStatus.down(g.name(), "gateway " + (i + 1) + " of " + GATEWAYS, "nothing answers on port " + port));
        }
        int lb = LoadBalancedGateways.status("http://127.0.0.1:" + basePort + "/health/ready");
        out.add(haproxy.alive()
                ? new NodeStatus(haproxy.name(), "load balancer", lb == 200, lb == 200 ? "" : "no ready gateway (" + lb + ")",
                        haproxy.rssBytes(), "http://127.0.0.1:" + basePort + ", pid " + haproxy.pid().orElseThrow())
                : NodeStatus.down(haproxy.name(), "load balancer", "not running (log " + haproxy.log() + ")"));
        return out;
    }
}
