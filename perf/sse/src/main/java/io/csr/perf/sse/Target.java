package io.csr.perf.sse;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.XAddParams;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The server under test and how an event reaches it. The same client (one NIO selector, {@link SseFrameParser}) and
 * the same payload measure all three; only the subscribe path and the publish call differ:
 * <ul>
 *   <li>{@code ours}: subscribe {@code /stream/updates?companyId=C} with a JWT, publish = XADD into the company's
 *       Redis stream (what the job does);</li>
 *   <li>{@code nchan}: subscribe {@code /sub/C} (EventSource), publish = POST {@code /pub/C};</li>
 *   <li>{@code pushpin}: subscribe {@code /sub/C} through Pushpin (our {@link GripOrigin} answers with
 *       {@code Grip-Hold: stream}), publish = POST {@code /publish/} with an {@code http-stream} item.</li>
 * </ul>
 */
public enum Target {
    OURS, NCHAN, PUSHPIN;

    public static Target parse(String s) {
        try {
            return valueOf(s.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--target " + s + " is not known; use ours, nchan or pushpin");
        }
    }

    public String label() {
        return name().toLowerCase();
    }

    /** Request path (with query) a subscriber of {@code company} asks for, given the base path of --url. */
    public String subscribePath(String basePath, String company) {
        return this == OURS ? basePath + "?companyId=" + company : stripSlash(basePath) + "/" + company;
    }

    public boolean needsToken() {
        return this == OURS;
    }

    /** Publishes one event; one instance per publishing thread. */
    public interface Publisher extends AutoCloseable {
        /** Publishes; returns the id the server gave the event when it says one (ours: the Redis stream id). */
        String publish(String company, long seq, String type, String data) throws Exception;

        @Override
        void close();
    }

    public Publisher publisher(String publishUrl, String redisUrl, String redisPrefix) {
        return switch (this) {
            case OURS -> new RedisPublisher(redisUrl, redisPrefix);
            case NCHAN -> new HttpPublisher(publishUrl) {
                @Override
                HttpRequest request(String company, long seq, String type, String data) {
                    return HttpRequest.newBuilder(URI.create(stripSlash(base) + "/" + company))
                            .header("X-EventSource-Event", type)
                            .POST(HttpRequest.BodyPublishers.ofString(data)).build();
                }
            };
            case PUSHPIN -> new PushpinPublisher(publishUrl);
        };
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static final class RedisPublisher implements Publisher {
        private final Jedis jedis;
        private final String prefix;

        RedisPublisher(String redisUrl, String prefix) {
            this.jedis = new Jedis(URI.create(redisUrl));
            this.prefix = prefix;
        }

        @Override
        public String publish(String company, long seq, String type, String data) {
            return jedis.xadd(RedisStreams.updatesKey(prefix, company), XAddParams.xAddParams(),
                    Map.of(RedisStreams.FIELD_TYPE, type, RedisStreams.FIELD_DATA, data)).toString();
        }

        @Override
        public void close() {
            jedis.close();
        }
    }

    /**
     * POST /publish/ on a fresh connection per event ({@code Connection: close}): Pushpin 1.36's publish endpoint was
     * seen holding items published over a kept-alive connection until that connection closed (every delivery arrived
     * seconds late, all at the end of the run), while one connection per publish delivers at once. A loopback connect
     * costs ≈ 0.1 ms, inside the measured publish → client latency, as the HTTP round trip is for nchan.
     */
    private static final class PushpinPublisher implements Publisher {
        private final URI uri;

        PushpinPublisher(String base) {
            if (base == null || base.isBlank()) {
                throw new IllegalArgumentException("--publish-url is required for pushpin (e.g. http://127.0.0.1:18101/publish/)");
            }
            this.uri = URI.create(base);
        }

        @Override
        public String publish(String company, long seq, String type, String data) throws IOException {
            ObjectNode body = Json.mapper().createObjectNode();
            ObjectNode item = body.putArray("items").addObject();
            item.put("channel", company);
            item.putObject("formats").putObject("http-stream")
                    .put("content", "id: " + seq + "\nevent: " + type + "\ndata: " + data + "\n\n");
            byte[] payload = body.toString().getBytes(StandardCharsets.UTF_8);
            try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
                socket.setTcpNoDelay(true);
                OutputStream out = socket.getOutputStream();
                out.write(("POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + payload.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(payload);
                out.flush();
                String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!response.startsWith("HTTP/1.1 2") && !response.startsWith("HTTP/1.0 2")) {
                    throw new IOException("publish to " + uri + " answered: " + response.lines().findFirst().orElse("(nothing)"));
                }
            }
            return null;
        }

        @Override
        public void close() {
        }
    }

    private abstract static class HttpPublisher implements Publisher {
        final String base;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        HttpPublisher(String base) {
            if (base == null || base.isBlank()) {
                throw new IllegalArgumentException("--publish-url is required for this target (e.g. http://127.0.0.1:18090/pub)");
            }
            this.base = base;
        }

        abstract HttpRequest request(String company, long seq, String type, String data);

        @Override
        public String publish(String company, long seq, String type, String data) throws IOException, InterruptedException {
            HttpResponse<String> r = http.send(request(company, seq, type, data),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (r.statusCode() / 100 != 2) {
                throw new IOException("publish to " + base + " answered " + r.statusCode() + ": " + r.body());
            }
            return null;
        }

        @Override
        public void close() {
            http.close();
        }
    }
}
