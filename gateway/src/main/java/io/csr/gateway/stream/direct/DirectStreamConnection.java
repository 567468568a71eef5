package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.LiveStream;
import io.csr.gateway.web.SecurityHeaders;
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
import java.util.Arrays;
import java.util.Optional;

/**
 * One connection accepted by {@link DirectStreams}: its first request is served here when it opens an SSE stream,
 * everything else by Helidon's HTTP/1 connection, which takes over the same socket through {@link HandOver} (the bytes
 * read here are read again there). All methods but {@link #close} and {@link #idleTime} run on the connection's own
 * virtual thread.
 *
 * <p>Time limits, enforced through Helidon's idle-connection check (every second, see {@code Main.server}), which asks
 * {@link #idleTime} and then calls {@link #close}{@code (false)}: the first request's head must be complete within
 * {@code GATEWAY_READ_TIMEOUT_SECONDS} of the connection's start (a head that never finishes — slow loris — is closed);
 * after that, {@code GATEWAY_IDLE_TIMEOUT_SECONDS} bounds the wait for the next request, a later head (from its
 * request line: Helidon's HTTP/1 alone would wait on once the line has arrived) and a single wait for a body's next
 * bytes — a body that keeps arriving is let finish ({@link RequestPhase} tells a head from a request being handled).
 * A stream never waits for its client (it only writes), so the limits never end one.
 */
final class DirectStreamConnection implements ServerConnection, InterruptableTask<Void> {
    /** Reported as the idle time of a head over its deadline: more than any idle timeout, so the check closes it. */
    private static final Duration OVERDUE = Duration.ofDays(3650);
    /** The connection whose thread this is, for {@link RequestPhase}. */
    private static final ThreadLocal<DirectStreamConnection> CURRENT = new ThreadLocal<>();

    private final ConnectionContext ctx;
    private final DirectStreams node;
    private final long startedNanos = System.nanoTime();
    private volatile Thread thread;
    private volatile boolean readingHead;
    private volatile boolean closing;
    /** Helidon's HTTP/1 connection once it took over, and the reader it reads through. */
    private volatile ServerConnection http1;
    private volatile HandOver handOver;
    /** A routed request is being handled (see {@link RequestPhase}); otherwise Helidon reads a head or waits for one. */
    private volatile boolean inRequest;

    DirectStreamConnection(ConnectionContext ctx, DirectStreams node) {
        this.ctx = ctx;
        this.node = node;
    }

    static DirectStreamConnection current() {
        return CURRENT.get();
    }

    void requestStarted() {
        inRequest = true;
    }

    void requestEnded() {
        inRequest = false;
    }

    @Override
    public void handle(Limit limit) throws InterruptedException {
        thread = Thread.currentThread();
        CURRENT.set(this);
        try {
            serve(limit);
        } finally {
            CURRENT.remove();
        }
    }

    private void serve(Limit limit) throws InterruptedException {
        First first = first(limit);
        // the stream runs in this frame, not in a helper's: the parked writer's frames stay on the heap as long as it
        // lives, so nothing of the request's head is held here meanwhile
        Taken taken = first.taken();
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
            HandOver over = new HandOver(ctx, first.pending());
            ServerConnection next = node.http1(over);
            handOver = over;
            http1 = next;
            if (!closing) {
                next.handle(limit);
            }
        }
    }

    private record Taken(LiveStream stream, ChunkedBody body, boolean keepAlive, LimitAlgorithm.Token permit) {
    }

    /**
     * How the first request goes on: a stream served here ({@code taken}, null when Helidon's HTTP/1 answers it) and the
     * bytes Helidon's HTTP/1 reads first (the whole request as read so far, or what followed a stream's head).
     */
    private record First(Taken taken, byte[] pending) {
    }

    /** Reads the first request's head (under the read timeout, see {@link #idleTime}) and decides who answers it. */
    private First first(Limit limit) {
        RequestHead.Bytes read;
        readingHead = true;
        try {
            read = RequestHead.read(ctx.dataReader(), node.http1Config().maxPrologueLength() + node.http1Config().maxHeadersSize());
        } finally {
            readingHead = false;
        }
        RequestHead head = read.complete() ? RequestHead.parse(Arrays.copyOf(read.bytes(), read.headEnd()), node.http1Config()) : null;
        Taken taken = head == null ? null : takeStream(head, limit);
        if (taken != null) {
            return new First(taken, Arrays.copyOfRange(read.bytes(), read.headEnd(), read.length()));
        }
        return new First(null, Arrays.copyOf(read.bytes(), read.length()));
    }

    /**
     * Opens the stream of a first request that asks for one and is admitted, on this connection; null when the request
     * is Helidon's HTTP/1's to answer.
     */
    private Taken takeStream(RequestHead head, Limit limit) {
        if (!node.servesStreams() || !head.isPlainStreamRequest(node.http1Config())) {
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
        node.metrics().directStreamOpened();
        boolean keepAlive = head.keepAlive();
        ChunkedBody body = new ChunkedBody(ctx.dataWriter(), answerHead(head, keepAlive), DirectStreams.MAX_CHUNK_BYTES, ChannelSink.of(ctx));
        return new Taken(opened.get(), body, keepAlive, accepted.token());
    }

    /** Status line and headers of the 200, as the routed handler's answer has them (security headers and CORS included). */
    private byte[] answerHead(RequestHead head, boolean keepAlive) {
        StringBuilder s = new StringBuilder(256)
                .append("HTTP/1.1 200 OK\r\nDate: ").append(DateTime.rfc1123String())
                .append("\r\nConnection: ").append(keepAlive ? "keep-alive" : "close")
                .append("\r\nTransfer-Encoding: chunked\r\n");
        for (Header h : LiveStream.HEADERS) {
            s.append(h.name()).append(": ").append(h.get()).append("\r\n");
        }
        for (Header h : SecurityHeaders.HEADERS) {
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
            // Helidon's measure (since its last request began or ended), or how long the thread has waited for the
            // client, whichever is longer: a client that stops inside a head or a body is as idle as one that sends nothing
            Duration waited = Duration.ofNanos(handOver.blockedNanos());
            Duration idle = next.idleTime();
            return waited.compareTo(idle) > 0 ? waited : idle;
        }
        if (!readingHead) {
            return Duration.ZERO; // a stream is never idle to the listener (it has its own idle timeout)
        }
        // the first head is bounded by the read timeout alone, also when the idle timeout is the shorter one
        Duration reading = Duration.ofNanos(System.nanoTime() - startedNanos);
        return reading.compareTo(node.readTimeout()) >= 0 ? OVERDUE : Duration.ZERO;
    }

    @Override
    public void close(boolean interrupt) {
        closing = true;
        ServerConnection next = http1;
        if (next != null) {
            next.close(interrupt);
            // Helidon's HTTP/1 interrupts a connection waiting for a request line only; one inside a head would wait on
            // (a slow loris dribbling header lines), so interrupt it here. Within a request being handled, only a wait
            // for the client as long as the idle timeout does: a request that merely runs long (an upload still
            // arriving, a routed stream) is left to finish, and Helidon ends the connection after it
            Thread t = thread;
            if (!interrupt && t != null && (!inRequest || handOver.blockedNanos() >= node.idleTimeout().toNanos())) {
                t.interrupt();
            }
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
