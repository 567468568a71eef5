package io.csr.job.runtime;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.testing.SavepointFiles;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ClusterControl#stopWithSavepoint} against a REST endpoint that behaves like the embedded job's: it accepts the
 * stop-with-savepoint trigger, the job writes its savepoint and finishes, and the endpoint is gone before the client
 * polls the trigger's result (the MiniCluster shuts down with its finished job).
 */
class ClusterControlSavepointTest {
    private static final JobID JOB = JobID.fromHexString("a1b2c3d4e5f60718293a4b5c6d7e8f90");
    private static final JobID OTHER = JobID.fromHexString("ffeeddccbbaa99887766554433221100");

    @TempDir
    Path state;

    private HttpServer server;

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    private Path savepoints() {
        return state.resolve("savepoints");
    }

    /**
     * An endpoint whose trigger runs {@code onTrigger} (the job writing its savepoint), answers, then goes away; its
     * port.
     */
    private int endpointGoneAfterTrigger(IoAction onTrigger) throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/jobs/" + JOB + "/stop")) {
                onTrigger.run();
                answer(exchange, 202, "{\"request-id\":\"0123456789abcdef0123456789abcdef\"}");
                new Thread(() -> server.stop(0)).start(); // the MiniCluster shuts down with its finished job
            } else {
                answer(exchange, 500, "{\"errors\":[\"unexpected " + exchange.getRequestURI() + "\"]}");
            }
        });
        server.start();
        return server.getAddress().getPort();
    }

    private ClusterControl control(int port) throws Exception {
        Configuration quickRetries = new Configuration();
        quickRetries.set(RestOptions.RETRY_MAX_ATTEMPTS, 2);
        quickRetries.set(RestOptions.RETRY_DELAY, java.time.Duration.ofMillis(50));
        return new ClusterControl(options(port), quickRetries);
    }

    private RuntimeOptions options(int port) {
        return RuntimeOptions.from(CsrConfig.of(Map.of(ConfigKey.CSR_STATE_DIR.name(), state.toString(),
                ConfigKey.FLINK_REST_URL.name(), "http://127.0.0.1:" + port)));
    }

    private static void answer(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static String savepointName(JobID job, String suffix) {
        return "savepoint-" + job.toHexString().substring(0, 6) + "-" + suffix;
    }

    @Test
    void reportsTheSavepointTheJobWroteWhenTheEndpointIsGoneBeforeTheResultWasRead() throws Exception {
        SavepointFiles.keyed(savepoints().resolve(savepointName(JOB, "000000000001")), 128); // an earlier stop of this job
        try (ClusterControl control = control(endpointGoneAfterTrigger(() -> {
            SavepointFiles.keyed(savepoints().resolve(savepointName(OTHER, "000000000002")), 128); // not this job's
            SavepointFiles.keyed(savepoints().resolve(savepointName(JOB, "0000000000ab")), 128);
        }))) {
            String path = control.stopWithSavepoint(JOB);

            assertThat(Path.of(java.net.URI.create(path))).isEqualTo(savepoints().resolve(savepointName(JOB, "0000000000ab")));
        }
    }

    /** With the REST client's own retries (about a minute against a gone endpoint), as {@code csr savepoint} runs it. */
    @Test
    void reportsTheSavepointWithoutWaitingOutTheClientsRetries() throws Exception {
        int port = endpointGoneAfterTrigger(() -> SavepointFiles.keyed(savepoints().resolve(savepointName(JOB, "0000000000ac")), 128));
        long start = System.nanoTime();
        try (ClusterControl control = new ClusterControl(options(port))) {
            String path = control.stopWithSavepoint(JOB);

            assertThat(Path.of(java.net.URI.create(path))).isEqualTo(savepoints().resolve(savepointName(JOB, "0000000000ac")));
        }
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).as("reported once the endpoint was gone")
                .isLessThan(java.time.Duration.ofSeconds(15));
    }

    @Test
    void failsNamingTheCauseWhenTheEndpointIsGoneAndNoSavepointWasWritten() throws Exception {
        try (ClusterControl control = control(endpointGoneAfterTrigger(() ->
                java.nio.file.Files.createDirectories(savepoints().resolve(savepointName(JOB, "0000000000cd")))))) { // no _metadata
            assertThatThrownBy(() -> control.stopWithSavepoint(JOB))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("stopped answering before it reported the savepoint of job " + JOB)
                    .hasMessageContaining("no new complete savepoint");
        }
    }

    @Test
    void aSavepointThatFailsOnAClusterThatStillAnswersIsTheClusterError() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/stop")) {
                SavepointFiles.keyed(savepoints().resolve(savepointName(JOB, "0000000000ef")), 128);
                answer(exchange, 202, "{\"request-id\":\"0123456789abcdef0123456789abcdef\"}");
            } else {
                answer(exchange, 500, "{\"errors\":[\"savepoint declined\"]}");
            }
        });
        server.start();
        try (ClusterControl control = control(server.getAddress().getPort())) {
            assertThatThrownBy(() -> control.stopWithSavepoint(JOB)).isInstanceOf(ExecutionException.class);
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }
}
