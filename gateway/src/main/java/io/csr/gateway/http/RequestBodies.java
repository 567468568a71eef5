package io.csr.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * The one body-size limit of the gateway ({@code GATEWAY_MAX_BODY_BYTES}), applied by every endpoint that takes a
 * body, while the body is read: a {@code Content-Length} above it is refused before a byte is read, a chunked body
 * as soon as it passes the limit, so no more than the limit ever reaches the heap (and a streaming reader such as the
 * CSV import holds far less). Over the limit: 413 {@code body_too_large} naming it. Bodies are UTF-8: a
 * {@code charset} other than UTF-8 is 415.
 */
public final class RequestBodies {
    private final long maxBytes;

    public RequestBodies(long maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("the body limit must be at least 1 byte, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Thrown by the stream of {@link #stream} once more than the limit was read. */
    public static final class TooLarge extends IOException {
        TooLarge(long limit) {
            super("more than " + limit + " bytes", null);
        }
    }

    /**
     * The body as a stream that throws {@link TooLarge} past the limit (map it with {@link #tooLarge}); 413 at once
     * when the declared length is already over it, 415 for a charset other than UTF-8.
     */
    public InputStream stream(ServerRequest req) {
        requireUtf8(req);
        long declared = req.headers().contentLength().orElse(-1L);
        if (declared > maxBytes) {
            throw ApiError.tooLarge(maxBytes);
        }
        return new Limited(req.content().inputStream(), maxBytes);
    }

    public ApiError tooLarge() {
        return ApiError.tooLarge(maxBytes);
    }

    /** The whole body (at most the limit), 400 {@code empty_body} when there is none. */
    public byte[] bytes(ServerRequest req) {
        byte[] bytes;
        try (InputStream in = stream(req)) {
            bytes = in.readAllBytes();
        } catch (TooLarge e) {
            throw tooLarge();
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiError a) {
                throw a;
            }
            throw ApiError.badRequest("bad_body", "the request body could not be read completely; send it again");
        }
        if (bytes.length == 0) {
            throw ApiError.badRequest("empty_body", "the request has no body; send a JSON object (Content-Type: application/json)");
        }
        return bytes;
    }

    /**
     * The body as a JSON object: 400 {@code empty_body} / {@code errorCode} (the endpoint's historic code for a body
     * that is not a JSON object) naming what is wrong, 413, 415.
     */
    public JsonNode jsonObject(ServerRequest req, String errorCode, String example) {
        byte[] bytes = bytes(req);
        JsonNode node;
        try {
            node = Json.mapper().readTree(bytes);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiError.badRequest(errorCode, "the body is not JSON (" + InputRules.shown(e.getOriginalMessage()) + where
                    + "); send " + example);
        } catch (IOException e) {
            throw ApiError.badRequest(errorCode, "the body is not JSON; send " + example);
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest(errorCode, "the body must be a JSON object like " + example);
        }
        return node;
    }

    /** 415 for a declared charset other than UTF-8 (or one Java does not know); no charset means UTF-8. */
    static void requireUtf8(ServerRequest req) {
        String contentType = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        for (String param : contentType.split(";")) {
            String p = param.strip();
            if (p.regionMatches(true, 0, "charset=", 0, 8)) {
                String cs = p.substring(8).replace("\"", "").strip().toLowerCase(Locale.ROOT);
                if (!cs.equals("utf-8") && !cs.equals("utf8")) {
                    throw new ApiError(415, "unsupported_charset", "charset '" + InputRules.shown(cs)
                            + "' is not accepted; send the body as UTF-8 (charset=utf-8 or no charset)");
                }
            }
        }
    }

    private static final class Limited extends FilterInputStream {
        private final long limit;
        private long count;

        Limited(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && ++count > limit) {
                throw new TooLarge(limit);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            // never ask for more than one byte past the limit, so the limit is crossed within one read
            int n = super.read(buf, off, (int) Math.min(len, limit - count + 1));
            if (n > 0) {
                count += n;
                if (count > limit) {
                    throw new TooLarge(limit);
                }
            }
            return n;
        }
    }
}
