package io.csr.gateway.http;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An HTTP error decided before any body is written: status, a stable machine-readable {@code error} code, a message
 * saying what failed and what to do, and the request id ({@link RequestGuard}). Rendered as
 * {@code {"error":"…","message":"…","requestId":"…"}}. A failure of a store is never shown to the caller (no SQL,
 * stack or driver text): {@link #unavailable} and {@link #internal} keep it as the cause, which {@link #send} logs
 * with the request id the answer carries.
 */
public final class ApiError extends RuntimeException {
    private static final Logger LOG = Logger.getLogger(ApiError.class.getName());
    private final int status;
    private final String error;
    private final int retryAfterSeconds;
    private final boolean closeConnection;

    public ApiError(int status, String error, String message) {
        this(status, error, message, 0);
    }

    public ApiError(int status, String error, String message, int retryAfterSeconds) {
        this(status, error, message, retryAfterSeconds, null);
    }

    private ApiError(int status, String error, String message, int retryAfterSeconds, Throwable cause) {
        this(status, error, message, retryAfterSeconds, cause, false);
    }

    private ApiError(int status, String error, String message, int retryAfterSeconds, Throwable cause, boolean closeConnection) {
        super(message, cause, false, false);
        this.status = status;
        this.error = error;
        this.retryAfterSeconds = retryAfterSeconds;
        this.closeConnection = closeConnection;
    }

    /**
     * The same error, answered with {@code Connection: close} and the connection then ended (ConnectionCloseFilter):
     * for an answer decided before the request body was read to its end, whose rest would otherwise be taken for the
     * next request — or, if the server drops it, make a client that reuses the connection fail its next request.
     */
    public ApiError closingConnection() {
        return new ApiError(status, error, getMessage(), retryAfterSeconds, getCause(), true);
    }

    public int status() {
        return status;
    }

    public String error() {
        return error;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public void send(ServerResponse res) {
        String requestId = RequestGuard.requestId(res);
        if (getCause() != null) {
            LOG.log(status >= 500 && status != 503 ? Level.SEVERE : Level.WARNING,
                    "request " + requestId + " answered " + status + " " + error + ": " + getCause(), getCause());
        }
        res.status(Status.create(status));
        if (retryAfterSeconds > 0) {
            res.header(HeaderNames.RETRY_AFTER, Integer.toString(retryAfterSeconds));
        }
        if (status == 401) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        if (closeConnection) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        JsonResponses.send(res, new Body(error, getMessage(), requestId));
    }

    /** The body of every error answer. */
    public record Body(String error, String message, String requestId) {
    }

    public static ApiError badRequest(String error, String message) {
        return new ApiError(400, error, message);
    }

    /** 413: the body is larger than the gateway accepts ({@code GATEWAY_MAX_BODY_BYTES}). */
    public static ApiError tooLarge(long limitBytes) {
        return new ApiError(413, "body_too_large", "the request body is larger than " + limitBytes
                + " bytes, the limit of this gateway (GATEWAY_MAX_BODY_BYTES); send less per request").closingConnection();
    }

    /** 503 for an outage of {@code store} (a real one: unreachable, timed out, shutting down); the cause is logged only. */
    public static ApiError unavailable(String error, String store, Throwable cause) {
        return new ApiError(503, error, store + " is not reachable right now; retry shortly (quote the requestId when reporting it)", 5, cause);
    }

    /** 500 for a failure that is not the caller's and not an outage; the cause is logged only. */
    public static ApiError internal(Throwable cause) {
        return new ApiError(500, "internal_error", "the gateway failed to answer this request; quote the requestId when reporting it",
                0, cause);
    }

    /**
     * What a PostgreSQL failure becomes: 503 when the database is unreachable, overloaded or shutting down (SQLSTATE
     * classes 08, 53, 57, or the pool's connection timeout), otherwise 500 — a request the gateway let through that
     * the database refused is the gateway's fault, and retrying it would fail the same way.
     */
    public static ApiError fromPostgres(SQLException e) {
        return isOutage(e) ? unavailable("postgres_unavailable", "PostgreSQL", e) : internal(e);
    }

    /**
     * What a ClickHouse failure becomes: 503 when it is retriable (unreachable, timed out, overloaded: an outage),
     * otherwise 500 (a query the gateway got wrong).
     */
    public static ApiError fromClickHouse(ClickHouseAccessException e) {
        return e.retriable() ? unavailable("clickhouse_unavailable", "ClickHouse", e) : internal(e);
    }

    /** A PostgreSQL failure that is an outage (unreachable, overloaded, shutting down, no pooled connection in time). */
    public static boolean isOutage(SQLException e) {
        if (e instanceof SQLTransientConnectionException) {
            return true;
        }
        String state = e.getSQLState();
        return state != null && (state.startsWith("08") || state.startsWith("53") || state.startsWith("57"));
    }
}
