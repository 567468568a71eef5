package io.csr.perf.sse;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The origin Pushpin asks on every subscribe: it answers {@code GET /sub/<channel>} with a GRIP stream hold on that
 * channel, so Pushpin keeps the client connection and pushes what is published to the channel, and a GRIP keep-alive
 * (a heartbeat comment after 15 s idle, as ours sends). Loopback only.
 */
final class GripOrigin implements AutoCloseable {
    private final HttpServer server;

    GripOrigin(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 8192);
        server.createContext("/sub/", ex -> {
            String channel = ex.getRequestURI().getPath().substring("/sub/".length());
            byte[] body = "retry: 3000\n\n".getBytes(StandardCharsets.US_ASCII);
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.getResponseHeaders().add("Grip-Hold", "stream");
            ex.getResponseHeaders().add("Grip-Channel", channel);
            // GRIP's keep-alive for a held stream (sent after 15 s without data): the same comment heartbeat as ours
            ex.getResponseHeaders().add("Grip-Keep-Alive", ": heartbeat\\n\\n; format=cstring; timeout=15");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
