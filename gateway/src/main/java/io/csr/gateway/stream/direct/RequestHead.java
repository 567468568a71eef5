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

import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The head (request line and headers) of a connection's first request, read by {@link #read} and parsed by Helidon's
 * own HTTP/1 parsers, so that the request can still be handed to Helidon's HTTP/1 as it arrived.
 *
 * @param length   bytes of the head, up to and including the empty line
 * @param prologue the request line
 * @param headers  the headers
 */
record RequestHead(int length, HttpPrologue prologue, WritableHeaders<?> headers) {
    static final String PATH = "/stream/updates";
    /** A host name or IPv4 address, or an IPv6 literal, with an optional port: a subset of what Helidon accepts. */
    private static final Pattern HOST = Pattern.compile("([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+])(:[0-9]{1,5})?");

    /**
     * What was read of a connection's first request: every byte taken from the socket so far ({@code bytes[0, length)}),
     * and where the head ends in them ({@code headEnd}, just after the empty line), or -1 when the head is not one to
     * wait for — a line end that is not CRLF (a bare LF or CR, which Helidon's HTTP/1 refuses at once with 400), or more
     * bytes than Helidon's HTTP/1 accepts for a head (it answers 414/431). Either way the bytes are handed to Helidon as
     * they are.
     */
    record Bytes(byte[] bytes, int length, int headEnd) {
        boolean complete() {
            return headEnd > 0;
        }
    }

    /**
     * Reads the connection's next request head: takes what the socket delivers until the empty line that ends the head,
     * a line end other than CRLF, or {@code max} bytes. Linear in the bytes read, however they are dribbled: each read
     * is taken off the reader whole (the reader keeps no growing list of tiny reads to walk again) and only the new
     * bytes are scanned.
     *
     * @throws CloseConnectionException when the client closes the connection before that
     */
    static Bytes read(DataReader reader, int max) {
        byte[] buf = new byte[1024];
        int length = 0;
        int scanned = 0;
        try {
            while (true) {
                reader.ensureAvailable();
                int n = reader.available();
                if (length + n > buf.length) {
                    buf = Arrays.copyOf(buf, Math.max(2 * buf.length, length + n));
                }
                System.arraycopy(reader.readBytes(n), 0, buf, length, n);
                length += n;
                for (int i = scanned; i < length; i++) {
                    byte b = buf[i];
                    if (b == '\n') {
                        if (i == 0 || buf[i - 1] != '\r') {
                            return new Bytes(buf, length, -1); // bare LF
                        }
                        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                            return new Bytes(buf, length, i + 1);
                        }
                    } else if (b == '\r' && i + 1 < length && buf[i + 1] != '\n') {
                        return new Bytes(buf, length, -1); // bare CR
                    }
                }
                // a CR at the end is judged once the byte after it has arrived
                scanned = buf[length - 1] == '\r' ? length - 1 : length;
                if (length >= max) {
                    return new Bytes(buf, length, -1);
                }
            }
        } catch (DataReader.InsufficientDataAvailableException e) {
            throw new CloseConnectionException("connection closed before a complete request head", e);
        }
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
