package io.csr.gateway.stream.direct;

import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Tells a connection of {@link DirectStreams} when a routed request is being handled — its head read, its handler (and
 * any body it reads) running — and when not: then the connection is reading the next request's head or waiting for
 * one. The idle check needs to know: a client that is slow inside a head is a slow loris and is cut off, one whose
 * body is still arriving (an upload) is let finish. Helidon's HTTP/1 runs the routing on the connection's own thread,
 * which is how the filter finds its connection.
 */
public final class RequestPhase implements Filter {
    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        DirectStreamConnection connection = DirectStreamConnection.current();
        if (connection == null) {
            chain.proceed();
            return;
        }
        connection.requestStarted();
        try {
            chain.proceed();
        } finally {
            connection.requestEnded();
        }
    }
}
