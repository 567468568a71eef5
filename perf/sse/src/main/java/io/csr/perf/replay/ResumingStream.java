package io.csr.perf.replay;

import io.csr.common.net.Reconnecting;
import io.csr.perf.sse.SseBench;
import io.csr.perf.sse.SseFrameParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One SSE stream as {@code EventSource} keeps it behind a load balancer: when its connection ends (a gateway killed,
 * drained, or an answer other than 200) it waits the server's {@code retry} and connects again with
 * {@code Last-Event-ID} of the last event it received, for as long as it runs. It keeps every event id in order with
 * the time it arrived, the time of every connection answered 200, and checks the publisher's per-company sequence
 * number ({@code version} of the payload, 1, 2, 3, …) with the replay checker ({@link SequenceCheck}). One virtual
 * thread per stream, blocking reads: thousands of them cost a few KiB each.
 */
final class ResumingStream implements SseFrameParser.Listener {
    private static final int READ_BUFFER = 8 * 1024;

    final String company;
    private final URI url;
    private final String token;
    private final boolean resumeById;
    private final SequenceCheck order = new SequenceCheck(1); // streams open before the first event of their company
    private final List<String> ids = new ArrayList<>();
    private long[] receivedAtNanos = new long[64];
    private final List<Long> connectedAtNanos = new ArrayList<>();
    private final List<Long> requestedAtNanos = new ArrayList<>();
    private final List<Long> droppedAtNanos = new ArrayList<>();
    private int resets;
    private int refusals;
    private volatile long retryMillis = 3_000; // EventSource's default until the server says its own
    private volatile boolean connected;
    private volatile Socket socket;
    private Reconnecting loop;

    /**
     * @param url        the subscribe URL without its query ({@code http://balancer/stream/updates})
     * @param resumeById false only to show that the check fails without {@code Last-Event-ID}: reconnects start live
     */
    ResumingStream(URI url, String company, String token, boolean resumeById) {
        this.url = url;
        this.company = company;
        this.token = token;
        this.resumeById = resumeById;
    }

    void start() {
        loop = new Reconnecting(Thread.ofVirtual().name("failover-" + company).factory(), this::connectAndRead, () -> retryMillis);
    }

    /** One connection, read until it ends (a gateway killed or drained, a refusal, or {@link #stop}); then wait the retry. */
    private long connectAndRead() throws IOException {
        try (Socket s = new Socket()) {
            socket = s;
            synchronized (this) {
                requestedAtNanos.add(System.nanoTime());
            }
            s.connect(new InetSocketAddress(url.getHost(), url.getPort()), 5_000);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            out.write(request().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            SseFrameParser parser = new SseFrameParser(this);
            byte[] buf = new byte[READ_BUFFER];
            InputStream in = s.getInputStream();
            int n;
            while ((n = in.read(buf)) > 0) {
                parser.feed(buf, 0, n);
            }
        } finally {
            synchronized (this) {
                if (connected) {
                    droppedAtNanos.add(System.nanoTime());
                }
                connected = false;
            }
        }
        return retryMillis;
    }

    private String request() {
        String last = lastId();
        return "GET " + url.getRawPath() + "?companyId=" + company + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
                + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n"
                + (last != null && resumeById ? "Last-Event-ID: " + last + "\r\n" : "") + "\r\n";
    }

    @Override
    public void onStatus(int status) {
        synchronized (this) {
            if (status == 200) {
                connectedAtNanos.add(System.nanoTime());
                connected = true;
                return;
            }
            refusals++;
        }
        closeSocket(); // a refusal (HAProxy's 503 with no gateway left, a limit): connect again after retry
    }

    @Override
    public void onEvent(String id, String event, String data) {
        if ("reset".equals(event)) {
            synchronized (this) {
                resets++;
            }
            return;
        }
        long seq = SseBench.sequenceOf(data);
        if (id == null || seq < 0) {
            return; // event: close of a draining node, or not one of the publisher's updates
        }
        long now = System.nanoTime();
        synchronized (this) {
            order.accept(seq);
            if (ids.size() == receivedAtNanos.length) {
                receivedAtNanos = Arrays.copyOf(receivedAtNanos, receivedAtNanos.length * 2);
            }
            receivedAtNanos[ids.size()] = now;
            ids.add(id);
        }
    }

    @Override
    public void onComment(String comment) {
    }

    @Override
    public void onRetry(long millis) {
        retryMillis = millis;
    }

    synchronized String lastId() {
        return ids.isEmpty() ? null : ids.get(ids.size() - 1);
    }

    synchronized int received() {
        return ids.size();
    }

    /** On a connection answered 200 that has not ended. */
    boolean connected() {
        return connected;
    }

    /** Whether a connection was answered 200 after {@code nanos}. */
    synchronized boolean connectedAfter(long nanos) {
        return !connectedAtNanos.isEmpty() && connectedAtNanos.get(connectedAtNanos.size() - 1) > nanos;
    }

    /** Connections answered 200 so far. */
    synchronized int connects() {
        return connectedAtNanos.size();
    }

    /** What this stream saw, for the verdict. */
    synchronized FailoverVerdict.Stream record() {
        return new FailoverVerdict.Stream(company, List.copyOf(ids), Arrays.copyOf(receivedAtNanos, ids.size()),
                List.copyOf(connectedAtNanos), List.copyOf(requestedAtNanos), List.copyOf(droppedAtNanos), order.gaps(), order.repeats(), resets, refusals);
    }

    void stop() {
        if (loop != null) {
            loop.stop(socket);
        }
    }

    private void closeSocket() {
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
