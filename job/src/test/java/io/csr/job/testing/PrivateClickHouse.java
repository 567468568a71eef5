package io.csr.job.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A clickhouse-server of the test's own (own ports, own data dir, config from ops/local/clickhouse), so a test can
 * kill and restart it without disturbing the shared server other tests use. Needs the clickhouse-server binary
 * that {@code csr up} installs.
 */
public final class PrivateClickHouse implements AutoCloseable {
    private final Path dir;
    private final int httpPort;
    private final int tcpPort;
    private Process process;

    public PrivateClickHouse(Path dir) throws IOException {
        this.dir = dir;
        this.httpPort = FlinkStandaloneCluster.freePort();
        this.tcpPort = FlinkStandaloneCluster.freePort();
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

    public static boolean installed() {
        return Files.isExecutable(Path.of("/usr/sbin/clickhouse-server")) || Files.isExecutable(Path.of("/usr/bin/clickhouse-server"));
    }

    public String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    public PrivateClickHouse start() throws IOException {
        String bin = Files.isExecutable(Path.of("/usr/sbin/clickhouse-server")) ? "/usr/sbin/clickhouse-server" : "/usr/bin/clickhouse-server";
        process = new ProcessBuilder(bin, "--config-file=" + dir.resolve("config.xml"))
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
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url() + "/ping"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
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
