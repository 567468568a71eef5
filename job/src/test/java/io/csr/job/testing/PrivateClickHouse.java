package io.csr.job.testing;

import io.csr.job.cluster.node.HttpProbe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A clickhouse-server of the test's own (own ports, own data dir, config from ops/local/clickhouse), so a test can
 * kill and restart it without disturbing the shared server other tests use. Needs the clickhouse-server binary
 * ({@link #binary()}).
 */
public final class PrivateClickHouse implements AutoCloseable {
    private final Path dir;
    private final int httpPort;
    private final int tcpPort;
    private Process process;

    public PrivateClickHouse(Path dir) throws IOException {
        this.dir = dir;
        this.httpPort = TestClusters.freePort();
        this.tcpPort = TestClusters.freePort();
        Path templates = repoRoot().resolve("ops/local/clickhouse");
        for (String sub : List.of("data", "tmp", "user_files", "log", "format_schemas")) {
            Files.createDirectories(dir.resolve(sub));
        }
        String config = Files.readString(templates.resolve("config.xml"))
                .replace("@DIR@", dir.toString()).replace("@HTTP_PORT@", String.valueOf(httpPort))
                .replace("@TCP_PORT@", String.valueOf(tcpPort)).replace("@HOST@", "127.0.0.1");
        Files.writeString(dir.resolve("config.xml"), config);
        Files.copy(templates.resolve("users.xml"), dir.resolve("users.xml"));
    }

    /**
     * The clickhouse-server binary. A server already answering on 8123 (the shared one) is no substitute: this class
     * starts and kills a server of its own. Missing, it fails the calling test with the command that installs it —
     * never a skip, so the exactly-once test cannot pass green by not running (bin/csr test installs it).
     */
    public static Path binary() {
        for (String candidate : List.of("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        throw new AssertionError("clickhouse-server is not installed (looked in /usr/sbin and /usr/bin): run "
                + "`apt-get install -y clickhouse-server` (as root; bin/csr test does it), then run the tests again.");
    }

    public int httpPort() {
        return httpPort;
    }

    public String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    public PrivateClickHouse start() throws IOException {
        process = new ProcessBuilder(binary().toString(), "--config-file=" + dir.resolve("config.xml"))
                .directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log/server.out").toFile())).start();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(this::answers);
        return this;
    }

    /** kill -9: the server dies mid-request, as in a crash. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    public boolean answers() {
        return HttpProbe.ok(url() + "/ping");
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("ops/local/clickhouse"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find ops/local/clickhouse above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
