package io.csr.common.lb;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * N gateway processes on loopback behind Debian's HAProxy with {@link HaproxyConfig}: what the load-balanced tests
 * run, and what an HA topology's gateway node kind starts. Each gateway is {@code java -cp <classpath>
 * io.csr.gateway.Main} with the given environment (its configuration keys) plus its own {@code GATEWAY_PORT}; their
 * output goes to {@code <dir>/gateway-<i>.log}, HAProxy's configuration and output to {@code <dir>/haproxy.*}.
 * Gateways can be killed ({@link #kill(int)}, SIGKILL), stopped ({@link #terminate(int)}, SIGTERM, the drain) and
 * started again; {@link #close()} ends every process this object started, and nothing else.
 */
public final class LoadBalancedGateways implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    public static final String HAPROXY = "/usr/sbin/haproxy";

    private final String classpath;
    private final Map<String, String> env;
    private final Path dir;
    private final int[] ports;
    private final Process[] gateways;
    private final int lbPort;
    private final List<String> jvmOptions;
    private final int maxConn;
    private Process haproxy;

    /** What the tests run each gateway with: a small heap, the serial collector (three JVMs on a shared machine). */
    public static final List<String> TEST_JVM_OPTIONS = List.of("-Xmx384m", "-XX:+UseSerialGC");

    private LoadBalancedGateways(String classpath, Map<String, String> env, Path dir, int[] ports, int lbPort, List<String> jvmOptions,
                                 int maxConn) {
        this.classpath = classpath;
        this.env = Map.copyOf(env);
        this.dir = dir;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.maxConn = maxConn;
        this.ports = ports.clone();
        this.gateways = new Process[ports.length];
        this.lbPort = lbPort;
    }

    private static int[] freePorts(int n) throws IOException {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = freePort();
        }
        return out;
    }

    /**
     * Starts {@code nodes} gateways, waits until each is ready ({@code /health/ready}), then HAProxy in front of them,
     * and waits until it answers through to a gateway.
     *
     * @param classpath the gateway's class path (a test's own, or {@code gateway/target/classpath.txt} with its jar)
     * @param env       configuration of every gateway (e.g. REDIS_KEY_PREFIX, POSTGRES_SCHEMA, JWT_SECRET)
     * @param dir       where configuration and logs go (created)
     */
    public static LoadBalancedGateways start(String classpath, Map<String, String> env, Path dir, int nodes) throws IOException, InterruptedException {
        // 4,000 connections: HAProxy needs two descriptors per connection, and a test machine's limit may be 20,000
        return start(classpath, env, dir, nodes, TEST_JVM_OPTIONS, 4_000);
    }

    /**
     * As {@link #start(String, Map, Path, int)}, each gateway JVM with {@code jvmOptions} (a benchmark gives them the
     * options {@code bin/csr run gateway} uses) and HAProxy holding up to {@code maxConn} connections (each stream is one
     * on each side: HAProxy needs two descriptors per connection, so about 2 × maxConn under its open-file limit).
     */
    public static LoadBalancedGateways start(String classpath, Map<String, String> env, Path dir, int nodes, List<String> jvmOptions,
                                             int maxConn) throws IOException, InterruptedException {
        return start(classpath, env, dir, freePorts(nodes), freePort(), jvmOptions, maxConn);
    }

    /**
     * {@link #start(String, Map, Path, int)} on given ports: a gateway that is killed and started again must get its port
     * back, which a free port the system picked (one of the ephemeral range) may not be by then — an outgoing
     * connection can have taken it meanwhile. A caller that restarts gateways passes ports below that range.
     */
    public static LoadBalancedGateways start(String classpath, Map<String, String> env, Path dir, int[] ports, int lbPort)
            throws IOException, InterruptedException {
        return start(classpath, env, dir, ports, lbPort, TEST_JVM_OPTIONS, 4_000);
    }

    private static LoadBalancedGateways start(String classpath, Map<String, String> env, Path dir, int[] ports, int lbPort,
                                              List<String> jvmOptions, int maxConn) throws IOException, InterruptedException {
        int nodes = ports.length;
        if (maxConn < 1) {
            throw new IllegalArgumentException("maxConn " + maxConn + " must be at least 1 (the connections the balancer holds)");
        }
        if (!Files.isExecutable(Path.of(HAPROXY))) {
            throw new IllegalStateException(HAPROXY + " is missing: install Debian's haproxy (apt-get install -y haproxy; bin/csr test does)");
        }
        Files.createDirectories(dir);
        LoadBalancedGateways lb = new LoadBalancedGateways(classpath, env, dir, ports, lbPort, jvmOptions, maxConn);
        try {
            for (int i = 0; i < nodes; i++) {
                lb.startGateway(i);
            }
            for (int i = 0; i < nodes; i++) {
                int n = i;
                lb.await(() -> status(lb.gatewayUrl(n) + "/health/ready") == 200, () -> lb.gateways[n].isAlive(),
                        "gateway " + n + " ready on port " + lb.ports[n] + " (log " + lb.log(n) + ")", lb.log(n));
            }
            lb.startHaproxy();
            return lb;
        } catch (IOException | InterruptedException | RuntimeException e) {
            lb.close();
            throw e;
        }
    }

    public int nodes() {
        return ports.length;
    }

    /** {@code http://127.0.0.1:<port>} of the balancer. */
    public String url() {
        return "http://127.0.0.1:" + lbPort;
    }

    /** {@code http://127.0.0.1:<port>} of gateway {@code i} itself (past the balancer). */
    public String gatewayUrl(int i) {
        return "http://127.0.0.1:" + ports[i];
    }

    public Path log(int i) {
        return dir.resolve("gateway-" + i + ".log");
    }

    public boolean alive(int i) {
        return gateways[i] != null && gateways[i].isAlive();
    }

    /** The process id of gateway {@code i} (the one started last). */
    public long pid(int i) {
        return gateways[i].pid();
    }

    /** The process id of HAProxy. */
    public long haproxyPid() {
        return haproxy.pid();
    }

    /** Starts gateway {@code i} (again) on its port; returns at once (await its readiness yourself). */
    public void startGateway(int i) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath, "io.csr.gateway.Main"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(i).toFile()));
        Map<String, String> e = new HashMap<>(env);
        e.put("GATEWAY_HOST", "127.0.0.1");
        e.put("GATEWAY_PORT", Integer.toString(ports[i]));
        pb.environment().putAll(e);
        gateways[i] = pb.start();
    }

    /** SIGKILL: the gateway is gone at once, its streams cut without a word. */
    public void kill(int i) throws InterruptedException {
        gateways[i].destroyForcibly();
        gateways[i].waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM: the gateway drains; returns the process to wait for. */
    public Process terminate(int i) {
        gateways[i].destroy();
        return gateways[i];
    }

    private void startHaproxy() throws IOException, InterruptedException {
        List<String> servers = new ArrayList<>();
        for (int port : ports) {
            servers.add("127.0.0.1:" + port);
        }
        Path cfg = dir.resolve("haproxy.cfg");
        Path socket = dir.resolve("haproxy.sock");
        Files.writeString(cfg, new HaproxyConfig("127.0.0.1:" + lbPort, servers, maxConn, socket.toString()).render());
        haproxy = new ProcessBuilder(HAPROXY, "-db", "-f", cfg.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("haproxy.log").toFile())).start();
        // every server passed a health check of its own (at start HAProxy deems them up before any check ran)
        await(() -> serversChecked(socket) == ports.length && status(url() + "/health/ready") == 200, haproxy::isAlive,
                "HAProxy answering on port " + lbPort + " with every gateway's health check passed"
                + " (log " + dir.resolve("haproxy.log") + ")", dir.resolve("haproxy.log"));
    }

    private void await(BooleanSupplier condition, BooleanSupplier alive, String what, Path log) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (!alive.getAsBoolean()) {
                throw new IllegalStateException("not up: " + what + "; the process exited:\n" + tail(log, 10));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not up within " + START_TIMEOUT.toSeconds() + " s: " + what);
            }
            Thread.sleep(200);
        }
    }

    /** How many servers of the backend passed their last health check ({@code show stat}: check_status L7OK). */
    static int serversChecked(Path socket) {
        if (!Files.exists(socket)) {
            return 0;
        }
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
            ch.write(java.nio.ByteBuffer.wrap("show stat\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            String csv = new String(java.nio.channels.Channels.newInputStream(ch).readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            String[] lines = csv.split("\n");
            List<String> header = List.of(lines[0].replaceFirst("^# ", "").split(",", -1));
            int svname = header.indexOf("svname");
            int check = header.indexOf("check_status");
            int n = 0;
            for (String line : lines) {
                String[] f = line.split(",", -1);
                if (f.length > check && f[svname].startsWith("gw") && f[check].startsWith("L7OK")) {
                    n++;
                }
            }
            return n;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The status of a GET, or -1 when nothing answered. */
    public static int status(String url) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(1_000);
            c.setReadTimeout(2_000);
            try {
                return c.getResponseCode();
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        if (haproxy != null) {
            haproxy.destroyForcibly();
        }
        for (Process p : gateways) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
        try {
            if (haproxy != null) {
                haproxy.waitFor(10, TimeUnit.SECONDS);
            }
            for (Process p : gateways) {
                if (p != null) {
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** For messages: the tail of a log. */
    public static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
