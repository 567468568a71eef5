package io.csr.gateway.http;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * What every request goes through before its route, once for the whole gateway:
 * <ul>
 *   <li>a request id: the caller's {@code X-Request-Id} when it is a plain token (8-64 of {@code [A-Za-z0-9._-]}),
 *   else a new one; sent back as {@code X-Request-Id} on every answer and as {@code requestId} in every error body,
 *   and written to the log beside any failure, so a caller's report finds the log line;</li>
 *   <li>the path and the query must be well-formed percent-encoded UTF-8: Helidon decodes invalid bytes to U+FFFD,
 *   which would make different ids one ({@code %FF} and {@code %FE} both become {@code \uFFFD}): 400
 *   {@code bad_encoding};</li>
 *   <li>an {@link ApiError} thrown by a route or an inner filter is answered here, as itself: handlers throw their
 *   refusals and need no {@code catch} of their own. Here rather than in the routing's error handler, which Helidon
 *   runs only after every filter has returned: answered inside the chain, the refusal passes back through
 *   {@code ConnectionCloseFilter} like any other answer (the lingering close after a {@link ApiError#closingConnection()}
 *   answer, a client's {@code Connection: close}). With the error handler instead, BodyLimitsITCase, CorsITCase and
 *   ParticipantsITCase passed as well (Helidon 4.5.0 keeps the headers and closes a connection whose body was left
 *   unread), so that is a choice of one path for every answer, not a fix of a failure the tests show;</li>
 *   <li>{@link #failed}, the routing's error handler: anything else a handler throws becomes a 500 with a generic
 *   message and the request id (Helidon's own 4xx refusals keep their status); the exception goes to the log, never
 *   into the body;</li>
 *   <li>{@link #notFound}, the last route, answers what no endpoint matched as JSON too.</li>
 * </ul>
 */
public final class RequestGuard implements Filter {
    public static final HeaderName REQUEST_ID = HeaderNames.create("X-Request-Id");
    private static final Pattern CALLER_ID = Pattern.compile("[A-Za-z0-9._-]{8,64}");

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        String callerId = req.headers().first(REQUEST_ID).orElse(null);
        String id = callerId != null && CALLER_ID.matcher(callerId).matches() ? callerId : newId();
        res.header(REQUEST_ID, id);
        req.context().register(new RequestId(id));
        String problem = encodingProblem("path", req.path().rawPath());
        if (problem == null) {
            problem = encodingProblem("query", req.query().rawValue());
        }
        if (problem != null) {
            ApiError.badRequest("bad_encoding", problem).send(res);
            return;
        }
        try {
            chain.proceed();
        } catch (ApiError e) {
            if (res.isSent()) {
                throw e; // too late to answer (a stream already open): the error handler logs it and ends the connection
            }
            e.send(res);
        }
    }

    /** The request's id, kept in the request context: Helidon resets the answer's headers before an error handler runs. */
    private record RequestId(String value) {
    }

    /**
     * The error handler of the routing (register it for {@code Exception}): whatever a handler throws and did not
     * answer becomes our JSON error with the request id — an {@link ApiError} as itself, Helidon's own 4xx refusals
     * with their status, anything else a generic 500 whose cause goes to the log only.
     */
    public static void failed(ServerRequest req, ServerResponse res, Exception e) {
        String id = req.context().get(RequestId.class).map(RequestId::value).orElseGet(RequestGuard::newId);
        res.header(REQUEST_ID, id);
        if (e instanceof ApiError a) {
            a.send(res);
        } else if (e instanceof HttpException h && h.status().code() < 500) {
            new ApiError(h.status().code(), "bad_request", "the request was refused: " + h.status().reasonPhrase()).send(res);
        } else {
            ApiError.internal(e).send(res);
        }
    }

    /** The last route: no endpoint matched (Helidon would answer 404 in plain text, without a request id). */
    public static void notFound(ServerRequest req, ServerResponse res) {
        new ApiError(404, "not_found", "no endpoint answers " + req.prologue().method().text()
                + " on this path; the API is described at /openapi").send(res);
    }

    /** The request id of the answer being written (set by this filter), or {@code "-"} outside the routing. */
    public static String requestId(ServerResponse res) {
        return res.headers().first(REQUEST_ID).orElse("-");
    }

    static String newId() {
        byte[] b = new byte[8];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Why the raw (still percent-encoded) {@code part} is not UTF-8 once decoded, or null when it is. */
    static String encodingProblem(String part, String raw) {
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        byte[] bytes = new byte[raw.length()];
        int n = 0;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length() || Character.digit(raw.charAt(i + 1), 16) < 0 || Character.digit(raw.charAt(i + 2), 16) < 0) {
                    return "the " + part + " holds a '%' that does not start a %XX escape; percent-encode it as %25";
                }
                bytes[n++] = (byte) Integer.parseInt(raw, i + 1, i + 3, 16);
                i += 2;
            } else if (c > 0xFF) {
                return "the " + part + " holds characters that were not sent as percent-encoded UTF-8";
            } else {
                bytes[n++] = (byte) c;
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, n));
            return null;
        } catch (CharacterCodingException e) {
            return "the " + part + " is not well-formed UTF-8 once percent-decoded; encode ids as UTF-8 (RFC 3986)";
        }
    }
}
