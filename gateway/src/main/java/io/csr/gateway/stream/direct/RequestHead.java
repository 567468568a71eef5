package io.csr.gateway.stream.direct;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.uri.UriValidator;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Method;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1Headers;
import io.helidon.webserver.http1.Http1Prologue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The head (request line and headers) of a connection's next request, read ahead without consuming it and parsed by
 * Helidon's own HTTP/1 parsers, so that the request can still be handed to Helidon's HTTP/1 untouched.
 *
 * @param length   bytes of the head, up to and including the empty line
 * @param prologue the request line
 * @param headers  the headers
 */
record RequestHead(int length, HttpPrologue prologue, WritableHeaders<?> headers) {
    static final String PATH = "/stream/updates";
    private static final byte[] PREFIX = ("GET " + PATH).getBytes(StandardCharsets.US_ASCII);
    /** A host name or IPv4 address, or an IPv6 literal, with an optional port: a subset of what Helidon accepts. */
    private static final Pattern HOST = Pattern.compile("([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+])(:[0-9]{1,5})?");

    /**
     * The head of the next request when it may be a stream request ({@code GET /stream/updates...}), reading from the
     * socket until the head is complete; null when it is not one or the head is longer than Helidon's HTTP/1 accepts.
     * The reader's position does not move.
     */
    static RequestHead peek(DataReader reader, Http1Config config) {
        try {
            if (!reader.startsWith(PREFIX)) {
                return null;
            }
            int max = config.maxPrologueLength() + config.maxHeadersSize();
            int searched = 0;
            while (true) {
                int available = reader.available();
                byte[] bytes = new byte[available];
                reader.getBuffer(available).read(bytes);
                int end = headEnd(bytes, Math.max(0, searched - 3));
                if (end >= 0) {
                    return parse(Arrays.copyOf(bytes, end), config);
                }
                if (available >= max) {
                    return null;
                }
                searched = available;
                reader.pullData();
            }
        } catch (DataReader.InsufficientDataAvailableException e) {
            throw new CloseConnectionException("connection closed before a complete request head", e);
        }
    }

    /** Index just after the empty line ending the head ({@code \r\n\r\n}), or -1. */
    static int headEnd(byte[] b, int from) {
        for (int i = from; i + 3 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i + 4;
            }
        }
        return -1;
    }

    /** Parses a complete head with Helidon's HTTP/1 parsers; null when they refuse it (Helidon then answers it). */
    static RequestHead parse(byte[] head, Http1Config config) {
        boolean[] given = {false};
        DataReader reader = DataReader.create(() -> {
            if (given[0]) {
                return null;
            }
            given[0] = true;
            return head;
        });
        try {
            HttpPrologue prologue = new Http1Prologue(reader, config.maxPrologueLength(), config.validatePath()).readPrologue();
            WritableHeaders<?> headers = new Http1Headers(reader, config.maxHeadersSize(), config.validateRequestHeaders())
                    .readHeaders(prologue);
            return new RequestHead(head.length, prologue, headers);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * A plain stream request this connection may answer itself: {@code GET /stream/updates} over HTTP/1.1, valid
     * query, one plain Host header, no body, no upgrade, no expectation. Anything else is Helidon's to answer (or to
     * refuse with 400), exactly as before.
     */
    boolean isPlainStreamRequest(Http1Config config) {
        if (prologue.method() != Method.GET || !"HTTP".equals(prologue.protocol()) || !"1.1".equals(prologue.protocolVersion())
                || !PATH.equals(prologue.uriPath().path()) || prologue.fragment().hasValue()) {
            return false;
        }
        if (config.validatePrologue()) {
            try {
                UriValidator.validateQuery(prologue.query().rawValue());
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        List<String> hosts = headers.all(HeaderNames.HOST, List::of);
        if (hosts.size() != 1 || !HOST.matcher(hosts.get(0)).matches()) {
            return false;
        }
        return !headers.contains(HeaderNames.CONTENT_LENGTH) && !headers.contains(HeaderNames.TRANSFER_ENCODING)
                && !headers.contains(HeaderNames.UPGRADE) && !headers.contains(HeaderNames.EXPECT);
    }

    /** The client did not ask to close the connection after this answer. */
    boolean keepAlive() {
        return !headers.containsToken(HeaderValues.CONNECTION_CLOSE);
    }
}
