package io.csr.job.cluster.node;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A 3-node NATS cluster with JetStream for {@code csr cluster up --ha} (issue 23): Debian's {@code nats-server} on
 * loopback, node {@code i} serving clients on {@code basePort + i}, routes on {@code basePort + 100 + i} and
 * monitoring on {@code basePort + 200 + i}, JetStream data under {@code <state>/cluster/nats/n<i>/}, each a detached
 * process with its pid file. A stream created with 3 replicas ({@code NATS_STREAM_REPLICAS=3}) survives the loss of
 * any one node: JetStream acknowledges a publish once a majority of the replicas stored it.
 */
public final class NatsClusterNode implements Node {
    public static final int BASE_PORT = 14222;
    public static final int NODES = 3;
    private static final Pattern CONNECTIONS = Pattern.compile("\"connections\":\\s*(\\d+)");

    private final int basePort;
    private final Path stateDir;
    private final Consumer<String> progress;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public NatsClusterNode(int basePort, Path stateDir, Consumer<String> progress) {
        this.basePort = basePort;
        this.stateDir = stateDir;
        this.progress = progress;
    }

    @Override
    public String name() {
        return "nats-cluster";
    }

    public int clientPort(int i) {
        return basePort + i;
    }

    private int routePort(int i) {
        return basePort + 100 + i;
    }

    private int monitorPort(int i) {
        return basePort + 200 + i;
    }

    /** NATS_URL of this cluster: every node, so a client moves to another when its node dies. */
    public String url() {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            urls.add("nats://127.0.0.1:" + clientPort(i));
        }
        return String.join(",", urls);
    }

    DetachedProcess process(int i) {
        return new DetachedProcess("nats-n" + i, stateDir.resolve("run"), stateDir.resolve("logs/nats-n" + i + ".log"));
    }

    private Path nodeDir(int i) {
        return stateDir.resolve("cluster/nats/n" + i);
    }

    String config(int i) {
        StringBuilder routes = new StringBuilder();
        for (int j = 0; j < NODES; j++) {
            if (j != i) {
                routes.append("    nats-route://127.0.0.1:").append(routePort(j)).append("\n");
            }
        }
        return """
                # written by csr cluster up --ha (NatsClusterNode): node %d of the local NATS cluster
                server_name: n%d
                listen: 127.0.0.1:%d
                http: 127.0.0.1:%d
                jetstream {
                  store_dir: "%s"
                  max_memory_store: 64MB
                  max_file_store: 2GB
                }
                cluster {
                  name: csr
                  listen: 127.0.0.1:%d
                  routes: [
                %s  ]
                }
                """.formatted(i, i, clientPort(i), monitorPort(i), nodeDir(i).resolve("jetstream"), routePort(i), routes);
    }

    @Override
    public void start() throws Exception {
        Path server = Files.isExecutable(Path.of("/usr/sbin/nats-server")) ? Path.of("/usr/sbin/nats-server")
                : Path.of("/usr/bin/nats-server");
        if (!Files.isExecutable(server)) {
            throw new IllegalStateException("nats-server is not installed: run `apt-get install -y nats-server` (as root)");
        }
        for (int i = 0; i < NODES; i++) {
            if (answers(clientPort(i))) {
                continue;
            }
            Files.createDirectories(nodeDir(i));
            Path conf = nodeDir(i).resolve("nats.conf");
            Files.writeString(conf, config(i));
            DetachedProcess p = process(i);
            long pid = p.launch(List.of(server.toString(), "-c", conf.toString()), nodeDir(i));
            progress.accept(String.format("%-22s started (pid %d, 127.0.0.1:%d, log %s)", "nats-n" + i, pid, clientPort(i), p.log()));
        }
        for (int i = 0; i < NODES; i++) {
            int n = i;
            DetachedProcess p = process(i);
            Await.until(() -> healthy(n), Duration.ofSeconds(60), () -> p.alive() || answers(clientPort(n)),
                    () -> "nats-n" + n + " did not become healthy (JetStream and routes) at 127.0.0.1:" + clientPort(n)
                            + "; see " + p.log() + ":\n" + p.logTail(20));
        }
        progress.accept(String.format("%-22s up (3 nodes, JetStream; NATS_URL=%s)", name(), url()));
    }

    /** {@code /healthz} answers 200: NATS's own health check, JetStream included. */
    private boolean healthy(int i) {
        return HttpProbe.ok("http://127.0.0.1:" + monitorPort(i) + "/healthz");
    }

    private static boolean answers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void stop() throws Exception {
        for (int i = NODES - 1; i >= 0; i--) {
            process(i).stop(progress);
        }
    }

    @Override
    public List<NodeStatus> status() {
        List<NodeStatus> out = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            String name = "nats-n" + i;
            DetachedProcess p = process(i);
            if (!answers(clientPort(i))) {
                out.add(NodeStatus.down(name, "nats (JetStream)", "nothing answers at 127.0.0.1:" + clientPort(i) + " (log " + p.log() + ")"));
                continue;
            }
            String connections = "";
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitorPort(i) + "/varz"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                Matcher m = CONNECTIONS.matcher(r.body());
                connections = m.find() ? m.group(1) + " clients" : "";
            } catch (IOException e) {
                connections = "";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            out.add(new NodeStatus(name, "nats (JetStream)", healthy(i), "", p.alive() ? p.rssBytes() : OptionalLong.empty(),
                    "127.0.0.1:" + clientPort(i) + (connections.isEmpty() ? "" : ", " + connections)
                            + (p.alive() ? ", pid " + p.pid().orElseThrow() : ", not started by csr")));
        }
        return out;
    }
}
