package io.csr.gateway.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An HTTP error decided before any body is written: status, a stable machine-readable {@code error} code and a
 * message saying what failed and what to do. Rendered as {@code {"error":"…","message":"…"}}.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String error;
    private final int retryAfterSeconds;

    public ApiError(int status, String error, String message) {
        this(status, error, message, 0);
    }

    public ApiError(int status, String error, String message, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.error = error;
        this.retryAfterSeconds = retryAfterSeconds;
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
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", error);
        body.put("message", getMessage());
        res.status(Status.create(status));
        if (retryAfterSeconds > 0) {
            res.header(HeaderNames.RETRY_AFTER, Integer.toString(retryAfterSeconds));
        }
        if (status == 401) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        JsonResponses.send(res, body);
    }

    public static ApiError badRequest(String error, String message) {
        return new ApiError(400, error, message);
    }
}
