package io.csr.gateway.web;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Honours {@code Connection: close}: once the answer to a request that asked for it — or an answer that carries it
 * itself — has been sent, the connection ends. Helidon 4.5.0's HTTP/1 sends the answer but keeps reading requests on the connection (fixed upstream after
 * 4.5.3; no later 4.5.x {@code helidon-webserver} resolves from Maven Central here). Ending it is Helidon's own way:
 * a {@link CloseConnectionException} thrown after the answer is complete closes the connection without another byte.
 *
 * <p>An answer given before the request body was read (a 413 on the declared length) is followed by a <em>lingering
 * close</em>, as nginx does: the rest of the body is read and dropped — at most {@link #LINGER_BYTES}, for at most
 * {@link #LINGER_TIME} — before the connection ends. Closing a socket with unread bytes makes the kernel send a reset
 * instead of an orderly end, and a reset that reaches the client while it is still sending destroys the answer
 * waiting in its receive buffer: the client then sees "no bytes" instead of the 413.
 *
 * <p>Depends on Helidon only, nothing else of the gateway.
 */
public final class ConnectionCloseFilter implements Filter {
    /** At most this much of an unread body is read and dropped before the connection ends. */
    static final long LINGER_BYTES = 8L << 20;
    /** At most this long is spent on it; a client still sending after this gets the reset. */
    static final Duration LINGER_TIME = Duration.ofSeconds(2);
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("csr-linger-timer").factory());

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        chain.proceed();
        if (res.isSent() && req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            throw new CloseConnectionException("the client asked to close the connection after this answer (Connection: close)");
        }
        if (res.isSent() && res.headers().contains(HeaderValues.CONNECTION_CLOSE)) {
            // the answer said so: it was decided before the request body was read to its end (e.g. a 413)
            linger(req);
            throw new CloseConnectionException("the answer ends the connection (Connection: close)");
        }
    }

    /** Reads and drops what is left of the body, bounded in bytes and time; any failure just ends the lingering. */
    static void linger(RoutingRequest req) {
        if (!req.content().hasEntity() || req.content().consumed()) {
            return;
        }
        Thread reader = Thread.currentThread();
        // a blocked socket read of a virtual thread ends when the thread is interrupted (its socket is closed)
        ScheduledFuture<?> stop = TIMER.schedule(reader::interrupt, LINGER_TIME.toMillis(), TimeUnit.MILLISECONDS);
        try (InputStream in = req.content().inputStream()) {
            byte[] buf = new byte[64 << 10];
            long dropped = 0;
            int n;
            while (dropped < LINGER_BYTES && (n = in.read(buf)) >= 0) {
                dropped += n;
            }
        } catch (Exception e) {
            // the body ended badly or the time is up: the connection ends either way
        } finally {
            stop.cancel(false);
            Thread.interrupted(); // clear a flag the timer may have set just now
        }
    }
}
