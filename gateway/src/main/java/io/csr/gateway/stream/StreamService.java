package io.csr.gateway.stream;

import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.helidon.common.uri.UriQuery;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import redis.clients.jedis.exceptions.JedisException;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * {@code /stream}: {@code GET /updates} (Contract 3 SSE), {@code GET /stats} (scoped to the caller's companies;
 * only role {@code operator} sees all, a company's {@code admin} sees its own), {@code GET /health} (readers and Redis). Every error status of {@code /updates} — 401, 403, 400,
 * 501, 429, 503 — is decided before the first byte of the event stream is written.
 */
public record StreamService(StreamSettings settings, JwtVerifier jwt, StreamHub hub, FeatureFlags flags, ConnectionLimits limits,
                            StreamMetrics metrics, Clock clock) implements HttpService {
    private static final Logger LOG = Logger.getLogger(StreamService.class.getName());
    private static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");

    @Override
    public void routing(HttpRules rules) {
        rules.get("/updates", this::updates)
                .get("/stats", this::stats)
                .get("/health", this::health);
    }

    private void updates(ServerRequest req, ServerResponse res) {
        Admission admission;
        try {
            admission = admit(req.headers(), req.query());
        } catch (ApiError e) { // only to count a refused stream; answered, as every refusal, by RequestGuard
            if (e.status() == 429 || e.status() == 503) {
                metrics.rejected(e.status());
            }
            throw e;
        }
        LiveStream stream;
        try {
            stream = open(admission, req.headers(), req.query());
        } catch (JedisException e) {
            throw redisDown(e);
        }
        try (stream) {
            res.status(Status.OK_200);
            LiveStream.HEADERS.forEach(res::header);
            stream.run(res.outputStream());
        }
    }

    /**
     * The stream a request for {@code /updates} opens when every decision says 200, for a caller that writes the answer
     * itself (a connection serving the stream directly); empty when the answer would be an error (or Redis failed):
     * the caller then hands the request to the routing, which decides again and answers as {@link #updates} does.
     */
    public Optional<LiveStream> openIfAdmitted(Headers headers, UriQuery query) {
        Admission admission;
        try {
            admission = admit(headers, query);
        } catch (ApiError e) { // not answered here: the routing decides again and answers it (see above)
            return Optional.empty();
        }
        try {
            return Optional.of(open(admission, headers, query));
        } catch (JedisException e) {
            return Optional.empty();
        }
    }

    private record Admission(Principal principal, String companyId) {
    }

    /** Every refusal (501, 401, 400, 403, 429, 503) is decided here, before a stream opens; takes a connection slot. */
    private Admission admit(Headers headers, UriQuery query) {
        if (!settings.streamingEnabled()) {
            throw new ApiError(501, "streaming_disabled", "live streaming is switched off on this gateway (STREAMING_ENABLED=false); use /stream/snapshot");
        }
        Principal principal = jwt.authenticateStreamRead(headers, query);
        String companyId = CompanyScope.resolve(principal, query);
        if (!flags.streamingEnabled(companyId)) {
            throw new ApiError(501, "streaming_disabled", "live streaming is switched off for company " + companyId
                    + " (feature_flags: flag 'streaming' disabled); use /stream/snapshot");
        }
        limits.acquire(companyId);
        return new Admission(principal, companyId);
    }

    /** Subscribes and checks where a resuming client left off; on a Redis failure gives everything back and rethrows. */
    private LiveStream open(Admission admission, Headers headers, UriQuery query) {
        Subscriber sub = null;
        try {
            sub = hub.subscribe(admission.companyId(), settings.bufferEvents());
            Optional<String> lastEventId = headers.first(LAST_EVENT_ID)
                    .or(() -> query.first("lastEventId").asOptional())
                    .filter(s -> !s.isEmpty());
            StreamHub.ResumeCheck resume = lastEventId.isPresent() ? hub.checkResume(admission.companyId(), lastEventId.get()) : null;
            return new LiveStream(hub, metrics, limits, settings, clock, admission.principal(), sub, resume);
        } catch (RuntimeException e) {
            if (sub != null) {
                sub.writerDone();
                hub.unsubscribe(sub);
            }
            limits.release(admission.companyId());
            throw e;
        }
    }

    private ApiError redisDown(JedisException e) {
        LOG.warning("Redis unavailable for a new stream: " + e.getMessage());
        metrics.rejected(503);
        return new ApiError(503, "redis_unavailable", "the update stream store (Redis) cannot be reached; retry after "
                + settings.retryAfterSeconds() + " s", settings.retryAfterSeconds());
    }

    private void stats(ServerRequest req, ServerResponse res) {
        Principal p = jwt.authenticate(req);
        // platform-wide (every company, node figures) only for an operator; a company's admin sees its own companies
        boolean platform = p.isOperator();
        List<Map<String, Object>> companies = new ArrayList<>();
        metrics.companies().stream()
                .filter(c -> platform || p.grants(c.companyId))
                .sorted(Comparator.comparing(c -> c.companyId))
                .forEach(c -> companies.add(c.toMap()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("scope", platform ? "all" : "companies");
        body.put("companies", companies);
        if (platform) {
            body.put("connections", metrics.totalConnections());
            body.put("maxConnections", settings.maxConnections());
            body.put("maxConnectionsPerCompany", settings.maxConnectionsPerCompany());
            body.put("deliveryLatencyMs", Map.of("count", metrics.latency().count(),
                    "p50UpperBound", metrics.latency().quantileUpperBoundMs(0.5),
                    "p99UpperBound", metrics.latency().quantileUpperBoundMs(0.99)));
            body.put("readers", hub.readerStates());
        }
        JsonResponses.send(res, body);
    }

    private void health(ServerRequest req, ServerResponse res) {
        boolean ok = hub.readersHealthy();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", ok ? "UP" : "DOWN");
        body.put("streamingEnabled", settings.streamingEnabled());
        body.put("connections", metrics.totalConnections());
        body.put("readers", hub.readerStates());
        res.status(ok ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        JsonResponses.send(res, body);
    }
}
