package io.csr.gateway.web;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.util.List;

/**
 * Browser hardening headers on every routed answer, pages and API alike (an API answer opened in a tab is a page too):
 * a Content-Security-Policy that lets a page run only the gateway's own script files — no inline script, no inline
 * event handler, no {@code eval}, so markup that slipped into the page (a producer's {@code userId}, a forged token's
 * company name) cannot run — and connect only back to the gateway; no framing ({@code frame-ancestors 'none'} and
 * {@code X-Frame-Options: DENY} for browsers without CSP 2); no content sniffing; no referrer (a page URL must never
 * travel to another site).
 *
 * <p>Depends on Helidon only, nothing else of the gateway.
 */
public final class SecurityHeaders implements Filter {
    /** Scripts and styles from the gateway's own files only; fetch/SSE back to the gateway only. */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
            + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    /** The headers, also written by answers that do not pass the routing's filters (streams served on their connection). */
    public static final List<Header> HEADERS = List.of(
            HeaderValues.create("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            HeaderValues.create("X-Frame-Options", "DENY"),
            HeaderValues.create(HeaderNames.X_CONTENT_TYPE_OPTIONS, "nosniff"),
            HeaderValues.create("Referrer-Policy", "no-referrer"));

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        HEADERS.forEach(res::header);
        chain.proceed();
    }
}
