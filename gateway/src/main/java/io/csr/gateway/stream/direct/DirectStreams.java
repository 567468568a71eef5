package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.StreamMetrics;
import io.csr.gateway.stream.StreamService;
import io.csr.gateway.web.CorsFilter;
import io.helidon.common.buffers.BufferData;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.time.Duration;
import java.util.Set;

/**
 * Serves an SSE stream ({@code GET /stream/updates}) on the connection it arrives on, without Helidon's routing, when
 * it is the connection's first request and every decision says 200; every other request, and the connection after
 * its stream, goes to Helidon's HTTP/1 as if this selector were not there. It also reads every connection's first
 * request head under a deadline ({@code GATEWAY_READ_TIMEOUT_SECONDS}), in time linear in its bytes however they are
 * dribbled, hands a head with a line end other than CRLF to Helidon's HTTP/1 at once (which answers 400) instead of
 * waiting for a CRLFCRLF that never comes, and lets the idle check close a connection whose thread waits
 * for its client inside a later head or body ({@link DirectStreamConnection}).
 *
 * <p>Why: an idle stream is a parked virtual thread, and its frames are copied to the heap. Through the routing, that
 * thread's stack holds Helidon's request, response, header tables and routing frames for as long as the stream
 * lives. Served here, the parked stack is the connection handler, {@link DirectStreamConnection} and the SSE writer
 * only: 14.5 KiB of heap per idle stream instead of 21.9 KiB, measured at 5,000 streams with {@code bin/csr bench sse}
 * (8 KiB of either is the socket's read buffer; perf/results/sse-gateway.md).
 *
 * <p>What stays Helidon's: parsing and validating the request ({@code Http1Prologue}, {@code Http1Headers}, the
 * same limits), the connection (socket, TLS, concurrency limit, shutdown, idle handling) and every answer other than
 * a stream's 200, since a request that would get an error is handed to the routing untouched and decided again
 * there. What this writes itself: the 200's head (the same headers as the routed answer, CORS included) and the
 * chunked body.
 *
 * <p>Register it as the listener's only connection selector, in place of the discovered HTTP/1 one
 * ({@code protocolsDiscoverServices(false)}): it accepts exactly the connections HTTP/1 accepts. Next to a second
 * selector, Helidon would sniff every connection's first bytes to choose, and close a connection whose request line
 * is longer than HTTP/1's prologue limit without the 414 that HTTP/1 alone answers.
 *
 * @param http1         Helidon's HTTP/1 selector, for the connections and requests not served here; its settings
 *                      (request limits, validation) are the listener's, used for the first request too
 * @param servesStreams serve a first request's stream on its connection ({@code STREAM_DIRECT_CONNECTIONS}); when false
 *                      every request goes to Helidon's HTTP/1, still under the first head's read timeout
 * @param readTimeout   the first request's head must be complete this long after the connection started
 *                      ({@code GATEWAY_READ_TIMEOUT_SECONDS})
 * @param idleTimeout   the listener's idle timeout ({@code GATEWAY_IDLE_TIMEOUT_SECONDS}): a connection whose thread has
 *                      waited this long for its client is interrupted when the idle check closes it
 */
public record DirectStreams(Http1ConnectionSelector http1, StreamService streams, CorsFilter cors, StreamMetrics metrics,
                            boolean servesStreams, Duration readTimeout, Duration idleTimeout) implements ServerConnectionSelector {
    /**
     * Frames written between two flushes leave as one chunk up to this size (a replay page is flushed every 500 events):
     * a bound on what a stream holds while writing, and nothing is held between flushes.
     */
    static final int MAX_CHUNK_BYTES = 4096;

    /** @param http1Config HTTP/1 settings of the listener, for the first request and for the connection after it */
    public DirectStreams(Http1Config http1Config, StreamService streams, CorsFilter cors, StreamMetrics metrics,
                         boolean servesStreams, Duration readTimeout, Duration idleTimeout) {
        this(Http1ConnectionSelector.builder().config(http1Config).build(), streams, cors, metrics, servesStreams, readTimeout,
                idleTimeout);
    }

    @Override
    public int bytesToIdentifyConnection() {
        return http1.bytesToIdentifyConnection();
    }

    @Override
    public Support supports(BufferData data) {
        return http1.supports(data);
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return http1.supportedApplicationProtocols();
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        return new DirectStreamConnection(ctx, this);
    }

    Http1Config http1Config() {
        return http1.prototype().config();
    }

    /** Helidon's HTTP/1 connection for everything not served here. */
    ServerConnection http1(ConnectionContext ctx) {
        return http1.connection(ctx);
    }
}
