package io.csr.gateway.stream.direct;

import io.helidon.common.buffers.DataReader;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http1.Http1Config;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestHeadTest {
    private static final Http1Config HTTP1 = Http1Config.create();
    private static final String STREAM = "GET /stream/updates?access_token=t HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: text/event-stream\r\n\r\n";

    /** A reader fed the given pieces one socket read at a time, then the end of the connection. */
    private static DataReader reader(String... pieces) {
        Deque<byte[]> reads = new ArrayDeque<>();
        for (String p : pieces) {
            reads.add(p.getBytes(StandardCharsets.ISO_8859_1));
        }
        return DataReader.create(reads::poll);
    }

    private static final int MAX = HTTP1.maxPrologueLength() + HTTP1.maxHeadersSize();

    /** The head read and parsed; null when it is Helidon's to answer as it is (not complete, or not parsable). */
    private static RequestHead head(String request) {
        RequestHead.Bytes read = RequestHead.read(reader(request), MAX);
        return read.complete() ? RequestHead.parse(Arrays.copyOf(read.bytes(), read.headEnd()), HTTP1) : null;
    }

    @Test
    void aHeadArrivingInPiecesIsReadUpToItsEnd() {
        DataReader r = reader(STREAM.substring(0, 10), STREAM.substring(10, 60), STREAM.substring(60) + "GET /next", " HTTP/1.1");
        RequestHead.Bytes read = RequestHead.read(r, MAX);
        assertThat(read.headEnd()).isEqualTo(STREAM.length());
        assertThat(new String(read.bytes(), 0, read.length(), StandardCharsets.ISO_8859_1)).as("what followed in the same read is kept")
                .isEqualTo(STREAM + "GET /next");
        assertThat(r.readAsciiString(9)).as("later reads are left on the socket").isEqualTo(" HTTP/1.1");
        RequestHead head = RequestHead.parse(Arrays.copyOf(read.bytes(), read.headEnd()), HTTP1);
        assertThat(head).isNotNull();
        assertThat(head.length()).isEqualTo(STREAM.length());
        assertThat(head.prologue().query().get("access_token")).isEqualTo("t");
        assertThat(head.headers().first(HeaderNames.ACCEPT)).contains("text/event-stream");
        assertThat(head.isPlainStreamRequest(HTTP1)).isTrue();
        assertThat(head.keepAlive()).isTrue();
    }

    @Test
    void otherRequestsAreReadButNotServedDirectly() {
        assertThat(head("GET /stream/health HTTP/1.1\r\nHost: a\r\n\r\n").isPlainStreamRequest(HTTP1)).isFalse();
        assertThat(head("POST /stream/updates HTTP/1.1\r\nHost: a\r\n\r\n").isPlainStreamRequest(HTTP1)).isFalse();
    }

    @Test
    void aLineEndOtherThanCrlfStopsTheReadAtOnce() {
        for (String bare : List.of("GET /stream/updates HTTP/1.1\nHost: a\n\n", "GET /stream/updates HTTP/1.1\r\nHost: a\n\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\r\n", "GET /health HTTP/1.1\n")) {
            // nothing more follows on these connections: waiting for CRLFCRLF would wait forever
            RequestHead.Bytes read = RequestHead.read(reader(bare), MAX);
            assertThat(read.complete()).as(bare).isFalse();
            assertThat(read.length()).isEqualTo(bare.length());
        }
        // a CR at the end of one read and its LF in the next is a CRLF
        assertThat(RequestHead.read(reader("GET / HTTP/1.1\r", "\nHost: a\r\n\r", "\n"), MAX).complete()).isTrue();
    }

    @Test
    void aDribbledHeadIsReadInLinearTime() {
        String big = "GET /stream/updates HTTP/1.1\r\nHost: a\r\nX-Pad: " + "p".repeat(12_000) + "\r\n\r\n";
        String[] bytes = big.split("");
        long millis = Long.MAX_VALUE;
        RequestHead.Bytes read = null;
        for (int run = 0; run < 3; run++) { // the best of three: the first also pays for loading and compiling the code
            DataReader r = reader(bytes);
            long start = System.nanoTime();
            read = RequestHead.read(r, 64 * 1024);
            millis = Math.min(millis, (System.nanoTime() - start) / 1_000_000);
        }
        assertThat(read.headEnd()).isEqualTo(big.length());
        // one byte per socket read: walking (and copying) the buffered head again per read is ~72 M node and byte steps
        // and as many small objects, seconds; linear is ~12 K steps, about a millisecond
        assertThat(millis).as("12 KB head, one byte per read").isLessThan(100);
    }

    @Test
    void onlyPlainStreamRequestsAreServedDirectly() {
        List<String> helidons = List.of(
                "GET /stream/updates HTTP/1.0\r\nHost: a\r\n\r\n",
                "GET /stream/updates/x HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a b\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                "GET /stream/updates HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");
        for (String request : helidons) {
            RequestHead head = head(request);
            assertThat(head == null || !head.isPlainStreamRequest(HTTP1)).as(request).isTrue();
        }
        assertThat(head("GET /stream/updates HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").isPlainStreamRequest(HTTP1)).isTrue();
        assertThat(head("GET /stream/updates?companyId=a HTTP/1.1\r\nHost: gw.example.com\r\n\r\n").isPlainStreamRequest(HTTP1)).isTrue();
    }

    @Test
    void whatHelidonRefusesToParseIsLeftToIt() {
        assertThat(head("GET /stream/updates HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")).isNull();
        String tooLong = "GET /stream/updates HTTP/1.1\r\nHost: a\r\nX: " + "y".repeat(HTTP1.maxHeadersSize() + HTTP1.maxPrologueLength());
        RequestHead.Bytes read = RequestHead.read(reader(tooLong), MAX);
        assertThat(read.complete()).as("longer than HTTP/1 accepts: not waited for").isFalse();
    }

    @Test
    void connectionCloseIsHonoured() {
        assertThat(head("GET /stream/updates HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive()).isFalse();
    }

    @Test
    void aClientThatHangsUpInsideTheHeadClosesTheConnection() {
        assertThatThrownBy(() -> head("GET /stream/updates HTTP/1.1\r\nHost: a\r\n")).isInstanceOf(CloseConnectionException.class);
    }
}
