package io.csr.perf.sse;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class SseBenchConnectTest {
    /** A server that answers 502 to the first {@code refusals} subscribes and streams (200, text/event-stream) after. */
    private static final class Refusing implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger requests = new AtomicInteger();
        final List<Socket> held = new ArrayList<>();

        Refusing(int refusals) throws IOException {
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = server.accept();
                        InputStream in = s.getInputStream();
                        int last = 0;
                        for (int b; (b = in.read()) >= 0; ) { // up to the blank line that ends the request
                            last = (last << 8 | b) & 0xFFFFFFFF;
                            if (last == 0x0D0A0D0A) {
                                break;
                            }
                        }
                        OutputStream out = s.getOutputStream();
                        if (requests.incrementAndGet() <= refusals) {
                            out.write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        } else {
                            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hi\n\n".getBytes(StandardCharsets.US_ASCII));
                        }
                        out.flush();
                        held.add(s);
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    private static SseBench bench(int port, int connections, int retries) {
        SseBench.Options o = new SseBench.Options();
        o.target = Target.NCHAN;
        o.url = "http://127.0.0.1:" + port + "/sub";
        o.connections = connections;
        o.connectBatch = 2;
        o.subscribeRetries = retries;
        return new SseBench(o, null);
    }

    @Test
    void aRefusedSubscribeIsOpenedAgainSoEveryConnectionStreamsAndTheRetriesAreCounted() throws Exception {
        try (Refusing server = new Refusing(2)) {
            SseBench bench = bench(server.server.getLocalPort(), 5, 3);
            bench.connectAll("127.0.0.1", server.server.getLocalPort(), List.of("a", "b"), Map.of());
            assertThat(bench.readyCount()).as("streaming").isEqualTo(5);
            assertThat(bench.retried.get()).as("retried").isEqualTo(2);
            assertThat(bench.non200.get()).as("given up").isZero();
            assertThat(server.requests.get()).isEqualTo(7);
        }
    }

    @Test
    void aConnectionRefusedMoreOftenThanItsRetriesIsGivenUpAndCountedNon200() throws Exception {
        try (Refusing server = new Refusing(3)) {
            SseBench bench = bench(server.server.getLocalPort(), 1, 2);
            bench.connectAll("127.0.0.1", server.server.getLocalPort(), List.of("a"), Map.of());
            assertThat(bench.readyCount()).isZero();
            assertThat(bench.retried.get()).isEqualTo(2);
            assertThat(bench.non200.get()).isEqualTo(1);
        }
    }
}
