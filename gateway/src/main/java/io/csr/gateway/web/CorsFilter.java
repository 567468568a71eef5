package io.csr.gateway.web;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * CORS for dashboards served from another origin ({@code CORS_ALLOWED_ORIGINS}), once for every route: a filter runs
 * before any handler, so the headers are on every answer — JSON, SSE, the error answers decided before a stream opens
 * and 404s alike. A request whose {@code Origin} is allowed gets {@code Access-Control-Allow-Origin: <that origin>};
 * a preflight ({@code OPTIONS} with {@code Access-Control-Request-Method}) from it is answered here with 204 and the
 * methods and request headers the gateway uses ({@code Authorization}, {@code Last-Event-ID}, {@code Content-Type}).
 * Any other origin gets no CORS header, so its browser refuses the answer. No credentials mode: the gateway takes
 * tokens in {@code Authorization} (or, for streams only, {@code access_token}), never from cookies, so nothing needs
 * {@code Access-Control-Allow-Credentials}.
 *
 * <p>Depends on Helidon only, nothing else of the gateway.
 */
public final class CorsFilter implements Filter {
    static final String ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
    static final String ALLOWED_HEADERS = "Authorization, Last-Event-ID, Content-Type";
    /** Headers a script may read on an answer besides the safelisted ones. */
    static final String EXPOSED_HEADERS = "Retry-After, WWW-Authenticate";
    static final String PREFLIGHT_MAX_AGE_SECONDS = "600";
    private static final Header VARY_ORIGIN = HeaderValues.create(HeaderNames.VARY, "Origin");
    private static final Header EXPOSE = HeaderValues.create(HeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);

    private final Set<String> allowed;

    private CorsFilter(Set<String> allowed) {
        this.allowed = Set.copyOf(allowed);
    }

    /**
     * From {@code CORS_ALLOWED_ORIGINS}: comma-separated exact origins {@code scheme://host[:port]}; empty = same origin
     * only (the filter then does nothing).
     *
     * @throws IllegalArgumentException naming the entry that is not an origin, and what an origin looks like
     */
    public static CorsFilter fromAllowedOrigins(String commaSeparated) {
        Set<String> origins = new LinkedHashSet<>();
        for (String raw : (commaSeparated == null ? "" : commaSeparated).split(",")) {
            String o = raw.trim();
            if (!o.isEmpty()) {
                origins.add(validOrigin(o));
            }
        }
        return new CorsFilter(origins);
    }

    public Set<String> allowedOrigins() {
        return allowed;
    }

    private static String validOrigin(String o) {
        String fix = "; CORS_ALLOWED_ORIGINS takes exact origins like https://cockpit.example.com or http://127.0.0.1:3000, comma-separated";
        if ("*".equals(o) || "null".equals(o)) {
            throw new IllegalArgumentException("CORS_ALLOWED_ORIGINS entry '" + o + "' is not allowed: name each origin" + fix);
        }
        URI u;
        try {
            u = URI.create(o);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CORS_ALLOWED_ORIGINS entry '" + o + "' is not an origin (" + e.getMessage() + ")" + fix, e);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null || u.getUserInfo() != null
                || !(u.getRawPath() == null || u.getRawPath().isEmpty()) || u.getRawQuery() != null || u.getRawFragment() != null) {
            throw new IllegalArgumentException("CORS_ALLOWED_ORIGINS entry '" + o + "' is not an origin (scheme://host[:port], no path, no trailing slash)" + fix);
        }
        // browsers send the origin in lower case and without a default port
        int port = u.getPort();
        boolean defaultPort = port == -1 || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
        return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        if (origin.isPresent() && allowed.contains(origin.get())
                && req.prologue().method() == Method.OPTIONS && req.headers().contains(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
            res.header(HeaderNames.VARY, "Origin");
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin.get());
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
            res.header(HeaderNames.ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECONDS);
            res.status(Status.NO_CONTENT_204);
            res.send();
            return;
        }
        answerHeaders(origin).forEach(res::header);
        chain.proceed();
    }

    /**
     * The CORS headers of an answer other than a preflight, for a request with this {@code Origin} header: none when
     * CORS is off or the request has no origin; {@code Vary: Origin} whenever CORS is on (caches must not hand one
     * origin's answer to another); the allow and expose headers only for an allowed origin. Also used by answers that
     * do not pass through the routing's filters (the SSE streams served directly on their connection).
     */
    public List<Header> answerHeaders(Optional<String> origin) {
        if (allowed.isEmpty() || origin.isEmpty()) {
            return List.of();
        }
        if (!allowed.contains(origin.get())) {
            return List.of(VARY_ORIGIN);
        }
        return List.of(VARY_ORIGIN, HeaderValues.create(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin.get()), EXPOSE);
    }
}
