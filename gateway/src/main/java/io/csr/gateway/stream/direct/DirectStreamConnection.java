package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.LiveStream;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.concurrency.limits.LimitAlgorithm;
import io.helidon.common.task.InterruptableTask;
import io.helidon.http.DateTime;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * One connection accepted by {@link DirectStreams}: its first request is served here when it opens an SSE stream,
 * everything else by Helidon's HTTP/1 connection, which takes over the same socket and reader (nothing of the
 * request was consumed unless it was served here). All methods but {@link #close} and {@link #idleTime} run on the
 * connection's own virtual thread.
 */
final class DirectStreamConnection implements ServerConnection, InterruptableTask<Void> {
    private final ConnectionContext ctx;
    private final DirectStreams node;
    private final long startedNanos = System.nanoTime();
    private volatile Thread thread;
    private volatile boolean readingHead;
    private volatile boolean closing;
    /** Helidon's HTTP/1 connection once it took over. */
    private volatile ServerConnection http1;

    DirectStreamConnection(ConnectionContext ctx, DirectStreams node) {
        this.ctx = ctx;
        this.node = node;
    }

    @Override
    public void handle(Limit limit) throws InterruptedException {
        thread = Thread.currentThread();
        // the stream runs in this frame, not in a helper's: the parked writer's frames stay on the heap as long as it lives
        Taken taken = takeStream(limit);
        if (taken != null) {
            try (LiveStream stream = taken.stream()) {
                stream.run(taken.body());
            } finally {
                taken.permit().success();
            }
            if (!taken.keepAlive() || !taken.body().complete()) {
                return;
            }
        }
        if (!closing) {
            ServerConnection next = node.http1(ctx);
            http1 = next;
            if (!closing) {
                next.handle(limit);
            }
        }
    }

    private record Taken(LiveStream stream, ChunkedBody body, boolean keepAlive, LimitAlgorithm.Token permit) {
    }

    /**
     * Takes the first request when it opens a stream: consumes its head and returns the open stream with the body to
     * write it to. Returns null when the request is Helidon's HTTP/1's to answer (nothing of it was read then).
     */
    private Taken takeStream(Limit limit) {
        readingHead = true;
        RequestHead head;
        try {
            head = RequestHead.peek(ctx.dataReader(), node.http1Config());
        } finally {
            readingHead = false;
        }
        if (head == null || !head.isPlainStreamRequest(node.http1Config())) {
            return null;
        }
        // the listener's request limit, as Helidon's HTTP/1 takes it around each request
        if (!(limit.tryAcquireOutcome(true) instanceof LimitAlgorithm.Outcome.Accepted accepted)) {
            return null;
        }
        Optional<LiveStream> opened;
        try {
            opened = node.streams().openIfAdmitted(head.headers(), head.prologue().query());
        } catch (RuntimeException e) {
            opened = Optional.empty(); // the routing decides again and answers (a 500 there, as for any failing handler)
        }
        if (opened.isEmpty()) {
            accepted.token().ignore();
            return null;
        }
        ctx.dataReader().skip(head.length());
        node.metrics().directStreamOpened();
        boolean keepAlive = head.keepAlive();
        ChunkedBody body = new ChunkedBody(ctx.dataWriter(), answerHead(head, keepAlive), DirectStreams.MAX_CHUNK_BYTES);
        return new Taken(opened.get(), body, keepAlive, accepted.token());
    }

    /** Status line and headers of the 200, as the routed handler's answer has them (CORS included). */
    private byte[] answerHead(RequestHead head, boolean keepAlive) {
        StringBuilder s = new StringBuilder(256)
                .append("HTTP/1.1 200 OK\r\nDate: ").append(DateTime.rfc1123String())
                .append("\r\nConnection: ").append(keepAlive ? "keep-alive" : "close")
                .append("\r\nTransfer-Encoding: chunked\r\n");
        for (Header h : LiveStream.HEADERS) {
            s.append(h.name()).append(": ").append(h.get()).append("\r\n");
        }
        for (Header h : node.cors().answerHeaders(head.headers().first(HeaderNames.ORIGIN))) {
            s.append(h.name()).append(": ").append(h.get()).append("\r\n");
        }
        return s.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public Duration idleTime() {
        ServerConnection next = http1;
        if (next != null) {
            return next.idleTime();
        }
        // a stream is never idle to the listener (it has its own idle timeout); a client that sends no request is
        return readingHead ? Duration.ofNanos(System.nanoTime() - startedNanos) : Duration.ZERO;
    }

    @Override
    public void close(boolean interrupt) {
        closing = true;
        ServerConnection next = http1;
        if (next != null) {
            next.close(interrupt);
            return;
        }
        // like Helidon's HTTP/1: stop waiting for a request at once, interrupt a running request only when told to
        Thread t = thread;
        if (t != null && (interrupt || readingHead)) {
            t.interrupt();
        }
    }

    @Override
    public boolean canInterrupt() {
        return readingHead || (http1 instanceof InterruptableTask<?> task && task.canInterrupt());
    }
}
