package io.csr.job.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP proxy in front of a ClickHouse HTTP port that can catch one INSERT in flight: once {@linkplain #armInsertHold
 * armed}, the next request carrying an {@code INSERT INTO … FORMAT} statement has its statement and first bytes of data
 * forwarded ({@link #HOLD_AFTER_BYTES}) and the rest held back until {@link Hold#release()}. The client's INSERT is then
 * certainly unanswered — sent in part, not acknowledged — so a server killed meanwhile dies with that INSERT in flight,
 * which polling {@code system.processes} and killing after it cannot promise (an INSERT of a few hundred KB is done in
 * milliseconds; ClickHouse 18.16 does not even list it before it has read 1 MiB of it). Everything else passes through.
 */
public final class InsertHoldingProxy implements AutoCloseable {
    /** Bytes of an INSERT request, from its statement on, that reach the server before the rest is held. */
    public static final int HOLD_AFTER_BYTES = 512;
    private static final java.util.regex.Pattern INSERT = java.util.regex.Pattern.compile("INSERT(?: |%20|\\+)INTO(?: |%20|\\+)\\S+?(?: |%20|\\+)FORMAT(?: |%20|\\+)");

    private final ServerSocket server;
    private final int upstreamPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicReference<Hold> armed = new AtomicReference<>();
    private final Thread acceptor;

    /** One armed hold: {@link #caught} counts down when an INSERT is held; {@link #release()} lets its bytes go on. */
    public static final class Hold {
        private final CountDownLatch caught = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);
        private volatile String request = "";

        public boolean awaitCaught(long timeout, TimeUnit unit) throws InterruptedException {
            return caught.await(timeout, unit);
        }

        /** The held INSERT's statement, e.g. {@code INSERT INTO events FORMAT JSONEachRow}. */
        public String request() {
            return request;
        }

        public void release() {
            released.countDown();
        }
    }

    public InsertHoldingProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::accept, "insert-holding-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** Holds the next INSERT that starts after this call; the previous hold, if any, is released. */
    public Hold armInsertHold() {
        Hold hold = new Hold();
        Hold previous = armed.getAndSet(hold);
        if (previous != null) {
            previous.release();
        }
        return hold;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream;
                try {
                    upstream = new Socket();
                    upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort), 2_000);
                } catch (IOException down) {
                    client.close(); // as if the server were not there
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream, true);
                pump(upstream, client, false);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void pump(Socket from, Socket to, boolean fromClient) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            Hold tracking = null; // the hold this connection's INSERT is for, once its statement went by
            long forwarded = 0;   // bytes of that INSERT forwarded so far
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    int from0 = 0;
                    if (fromClient && tracking == null) {
                        Hold hold = armed.get();
                        int at = hold == null ? -1 : insertAt(buf, n);
                        if (at >= 0 && armed.compareAndSet(hold, null)) {
                            tracking = hold;
                            hold.request = statement(buf, at, n);
                            // a statement in the URL: the whole head goes through, the hold counts from the body on
                            int bodyAt = indexOf(buf, n, at, "\r\n\r\n");
                            from0 = bodyAt < 0 ? at : bodyAt + 4;
                            out.write(buf, 0, from0);
                        }
                    }
                    if (tracking != null && !tracking.caught.await(0, TimeUnit.SECONDS)) {
                        int part = (int) Math.min(n - from0, HOLD_AFTER_BYTES - forwarded);
                        out.write(buf, from0, part);
                        forwarded += part;
                        from0 += part;
                        if (forwarded >= HOLD_AFTER_BYTES) {
                            out.flush();
                            tracking.caught.countDown();
                            tracking.released.await(); // the rest of this connection's bytes wait here
                        }
                    }
                    out.write(buf, from0, n - from0);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // one side went away: close both, as a dropped connection would
            } finally {
                close(from);
                close(to);
            }
        }, "insert-holding-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** The statement as text (URL-decoded when it came as the query parameter), for the test's log. */
    private static String statement(byte[] buf, int at, int n) {
        String text = new String(buf, at, Math.min(n - at, 300), StandardCharsets.ISO_8859_1);
        int end = text.indexOf(" HTTP/");
        if (end < 0) {
            end = text.indexOf('\n');
        }
        text = end < 0 ? text : text.substring(0, end);
        try {
            return java.net.URLDecoder.decode(text, StandardCharsets.UTF_8).trim();
        } catch (IllegalArgumentException e) {
            return text.trim();
        }
    }

    private static int indexOf(byte[] buf, int n, int from, String what) {
        return new String(buf, 0, n, StandardCharsets.ISO_8859_1).indexOf(what, from);
    }

    /** Where an {@code INSERT INTO … FORMAT} statement starts in these bytes (URL parameter or body), or -1. */
    private static int insertAt(byte[] buf, int n) {
        java.util.regex.Matcher m = INSERT.matcher(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        return m.find() ? m.start() : -1;
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        Hold hold = armed.getAndSet(null);
        if (hold != null) {
            hold.release();
        }
        server.close();
        sockets.forEach(InsertHoldingProxy::close);
    }
}
