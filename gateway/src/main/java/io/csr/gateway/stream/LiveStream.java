package io.csr.gateway.stream;

import io.csr.gateway.auth.Principal;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One admitted SSE stream of {@code /stream/updates}, from its subscription to its end, whoever writes the answer's
 * head: the routed handler ({@link StreamService}) or a connection that serves the stream directly
 * ({@code io.csr.gateway.stream.direct}). It exists only once every status decision said 200; {@link #close()} gives
 * back the subscription and the connection slot.
 */
public final class LiveStream implements AutoCloseable {
    /** Headers of the 200 answer besides the HTTP framing ones (date, connection, transfer encoding). */
    public static final List<Header> HEADERS = List.of(
            HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-cache"),
            HeaderValues.create("X-Accel-Buffering", "no"));

    private static final Logger LOG = Logger.getLogger(LiveStream.class.getName());

    private final StreamHub hub;
    private final StreamMetrics metrics;
    private final ConnectionLimits limits;
    private final StreamSettings settings;
    private final Clock clock;
    private final Principal principal;
    private final Subscriber sub;
    private final StreamHub.ResumeCheck resume;

    LiveStream(StreamHub hub, StreamMetrics metrics, ConnectionLimits limits, StreamSettings settings, Clock clock,
               Principal principal, Subscriber sub, StreamHub.ResumeCheck resume) {
        this.hub = hub;
        this.metrics = metrics;
        this.limits = limits;
        this.settings = settings;
        this.clock = clock;
        this.principal = principal;
        this.sub = sub;
        this.resume = resume;
        metrics.connectionOpened(sub.companyId());
    }

    public String companyId() {
        return sub.companyId();
    }

    /**
     * Writes the stream to {@code out} on the calling thread (the subscriber's writer) until it ends, then closes
     * {@code out}; returns why it ended ({@code client_gone} when a write failed, when {@code out} was not closed).
     */
    public String run(OutputStream out) {
        SseSession session = new SseSession(hub, metrics, sub, resume, principal.expiresAt(), settings.heartbeat(),
                settings.idleTimeout(), clock);
        String why;
        try {
            why = session.run(out);
            out.close();
        } catch (IOException | UncheckedIOException e) {
            why = "client_gone";
        } catch (JedisException e) {
            why = "redis_error";
            LOG.warning("replay for " + companyId() + " failed on Redis: " + e.getMessage() + "; ending the stream, the client resumes by id");
        } catch (InterruptedException e) {
            why = Optional.ofNullable(sub.closedReason()).map(Subscriber.Closed::reason).orElse("interrupted");
        }
        if ("slow_consumer".equals(why)) {
            LOG.fine(() -> "evicted a slow SSE client of " + companyId() + " (buffer of " + settings.bufferEvents() + " events overflowed)");
        }
        return why;
    }

    /** Unsubscribes and gives the connection slot back; clears an eviction's interrupt from the writer thread. */
    @Override
    public void close() {
        sub.writerDone();
        hub.unsubscribe(sub);
        metrics.connectionClosed(companyId());
        limits.release(companyId());
        LOG.log(Level.FINE, () -> "stream of " + companyId() + " for " + principal.subject() + " ended");
    }
}
