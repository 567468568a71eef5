package io.csr.gateway.stream.direct;

import io.csr.common.config.ConfigKey;
import io.csr.gateway.ChunkedInputStream;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Live events written by the tail readers straight to a waiting stream's socket (non-blocking), the stream's own thread
 * taking over what the socket did not take: a client that reads slowly still gets every event whole, once and in
 * order (the rest of a chunk the reader began comes before anything else), and the other clients of the company are
 * not held up by it. A 1 s heartbeat makes each stream's thread take the socket back and lend it again during the run.
 */
class ReaderWritesITCase {
    private static final int EVENTS = 400;
    /** Bytes of padding per event: 400 × 16 KiB is far more than a loopback socket with a 4 KiB receive buffer holds. */
    private static final int PAD = 16 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);
    @AutoClose private static GatewayFixture fx;

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of(ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "1",
                ConfigKey.STREAM_BUFFER_EVENTS.name(), String.valueOf(EVENTS * 2)));
    }

    /** A stream read by hand through a small receive buffer, {@code chunkBytes} at a time with a pause between reads. */
    private static final class SlowReader implements AutoCloseable {
        final Socket socket = new Socket();
        final List<Frame> frames = new CopyOnWriteArrayList<>();
        volatile long lastEventAt;
        volatile Throwable failure;
        private final Thread thread;

        SlowReader(String url, int chunkBytes, long pauseMillis) throws IOException {
            URI uri = URI.create(url);
            socket.setReceiveBufferSize(4096);
            socket.connect(new InetSocketAddress("127.0.0.1", uri.getPort()), 5_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + uri.getRawPath() + "?" + uri.getRawQuery() + " HTTP/1.1\r\nHost: 127.0.0.1:" + uri.getPort()
                    + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream raw = socket.getInputStream();
            InputStream throttled = new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    try {
                        Thread.sleep(pauseMillis); // the client's pace, not a synchronisation
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    return raw.read(b, off, Math.min(len, chunkBytes));
                }
            };
            thread = Thread.ofPlatform().daemon().start(() -> {
                try {
                    String head = ChunkedInputStream.readHead(throttled);
                    if (!head.startsWith("HTTP/1.1 200")) {
                        throw new IOException("not a stream: " + head);
                    }
                    SseTestClient.parse(new ChunkedInputStream(throttled), f -> {
                        frames.add(f);
                        if (f.isEvent()) {
                            lastEventAt = System.currentTimeMillis();
                        }
                    });
                } catch (IOException | RuntimeException e) {
                    if (!socket.isClosed()) {
                        failure = e;
                    }
                }
            });
        }

        List<Frame> events() {
            return frames.stream().filter(Frame::isEvent).toList();
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(5_000);
        }
    }

    private static String payload(String company, int i) {
        return "{\"companyId\":\"" + company + "\",\"metric\":\"m\",\"version\":" + i + ",\"pad\":\"" + "x".repeat(PAD) + "\"}";
    }

    private static long metric(String name) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fx.base() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+]+)$").matcher(body);
        assertThat(m.find()).as("%s in /metrics", name).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    @Test
    void aSlowClientGetsEveryEventWholeAndInOrderAndDoesNotHoldUpTheOthers() throws Exception {
        String company = "rw";
        String url = fx.updatesUrl(fx.tokens.forCompany(company), null);
        long unsentBefore = metric("csr_stream_reader_writes_unsent_total");
        try (SlowReader slow = new SlowReader(url, 8 * 1024, 5); SseTestClient fast = SseTestClient.open(url)) {
            await().atMost(WAIT).until(() -> !fast.frames.isEmpty() && !slow.frames.isEmpty());
            List<String> published = new ArrayList<>();
            for (int i = 0; i < EVENTS; i++) {
                published.add(fx.xadd(company, "metric_updated", payload(company, i)).toString());
            }
            long publishedAt = System.currentTimeMillis();

            await().atMost(WAIT).until(() -> fast.updateIds().size() >= EVENTS);
            long fastDone = System.currentTimeMillis();
            assertThat(fast.updateIds()).as("the fast client: every event once, in order").containsExactlyElementsOf(published);
            assertThat(slow.events().size()).as("the slow client is still reading when the fast one has all (else this test "
                    + "shows nothing)").isLessThan(EVENTS);

            await().atMost(WAIT).until(() -> slow.failure != null || slow.events().size() >= EVENTS);
            assertThat(slow.failure).as("the slow client's stream parses").isNull();
            List<Frame> got = slow.events();
            assertThat(got.stream().map(Frame::id).toList()).as("the slow client: every event once, in order").containsExactlyElementsOf(published);
            for (int i = 0; i < got.size(); i++) {
                assertThat(got.get(i).data()).as("event %d whole", i).isEqualTo(payload(company, i));
            }
            assertThat(fastDone - publishedAt).as("ms the fast client took for all events").isLessThan(slow.lastEventAt - publishedAt);
            assertThat(metric("csr_stream_reader_writes_unsent_total") - unsentBefore)
                    .as("the slow client's socket was full at least once: the stream's thread wrote the rest").isPositive();
            assertThat(metric("csr_stream_reader_writes_total")).as("events written by the readers themselves").isPositive();
        }
    }
}
