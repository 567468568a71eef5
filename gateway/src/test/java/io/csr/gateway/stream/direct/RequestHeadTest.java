package io.csr.gateway.stream.direct;

import io.helidon.common.buffers.DataReader;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http1.Http1Config;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
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

    private static RequestHead head(String request) {
        return RequestHead.peek(reader(request), HTTP1);
    }

    @Test
    void aHeadArrivingInPiecesIsReadWithoutConsumingIt() {
        DataReader r = reader(STREAM.substring(0, 10), STREAM.substring(10, 60), STREAM.substring(60), "GET /next");
        RequestHead head = RequestHead.peek(r, HTTP1);
        assertThat(head).isNotNull();
        assertThat(head.length()).isEqualTo(STREAM.length());
        assertThat(head.prologue().query().get("access_token")).isEqualTo("t");
        assertThat(head.headers().first(HeaderNames.ACCEPT)).contains("text/event-stream");
        assertThat(head.isPlainStreamRequest(HTTP1)).isTrue();
        assertThat(head.keepAlive()).isTrue();
        assertThat(r.readAsciiString(STREAM.length())).as("still unread, for Helidon's HTTP/1").isEqualTo(STREAM);
    }

    @Test
    void otherRequestsAreNotPeekedAtAll() {
        DataReader r = reader("GET /stream/health HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(RequestHead.peek(r, HTTP1)).isNull();
        assertThat(head("POST /stream/updates HTTP/1.1\r\nHost: a\r\n\r\n")).isNull();
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
        assertThat(head(tooLong)).as("longer than HTTP/1 accepts: not waited for").isNull();
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
