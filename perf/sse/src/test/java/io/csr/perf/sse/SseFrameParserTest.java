package io.csr.perf.sse;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SseFrameParserTest {
    final List<String> seen = new ArrayList<>();
    final SseFrameParser parser = new SseFrameParser(new SseFrameParser.Listener() {
        @Override
        public void onStatus(int status) {
            seen.add("status " + status);
        }

        @Override
        public void onEvent(String id, String event, String data) {
            seen.add(id + "|" + event + "|" + data);
        }

        @Override
        public void onComment(String comment) {
            seen.add(": " + comment);
        }

        @Override
        public void onRetry(long millis) {
            seen.add("retry " + millis);
        }
    });

    @Test
    void parsesChunkedStreamSplitAnywhere() {
        String body = "retry: 3000\n\nid: 1-0\nevent: metric_updated\ndata: {\"a\":1}\n\n: heartbeat\n\nid: 2-0\nevent: reset\ndata: x\n\n";
        StringBuilder http = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < body.length(); i += 7) {
            String part = body.substring(i, Math.min(body.length(), i + 7));
            http.append(Integer.toHexString(part.getBytes(StandardCharsets.UTF_8).length)).append("\r\n").append(part).append("\r\n");
        }
        byte[] bytes = http.toString().getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += 3) { // feed in tiny pieces
            parser.feed(bytes, i, Math.min(3, bytes.length - i));
        }
        assertThat(seen).containsExactly("status 200", "retry 3000", "1-0|metric_updated|{\"a\":1}", ": heartbeat", "2-0|reset|x");
    }

    @Test
    void readsASocketOnItsOwnThreadUntilTheStreamEnds() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket served = server.accept()) {
            Thread reader = parser.readOnThread(client, "parser-test", 8); // reads smaller than an event
            served.getOutputStream().write("HTTP/1.1 200 OK\r\n\r\nid: 1-0\nevent: metric_updated\ndata: {}\n\n".getBytes(StandardCharsets.UTF_8));
            served.shutdownOutput(); // the server ends the stream
            reader.join(10_000);
            assertThat(reader.isAlive()).as("the reader ends with the stream").isFalse();
            assertThat(seen).containsExactly("status 200", "1-0|metric_updated|{}");
        }
    }

    @Test
    void aRetryThatIsNotANumberOfMillisecondsIsIgnored() {
        byte[] bytes = "HTTP/1.1 200 OK\r\n\r\nretry: soon\n\nretry: 1500\n\n".getBytes(StandardCharsets.UTF_8);
        parser.feed(bytes, 0, bytes.length);
        assertThat(seen).containsExactly("status 200", "retry 1500");
    }

    @Test
    void parsesPlainBodyAndErrorStatus() {
        byte[] bytes = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n".getBytes(StandardCharsets.UTF_8);
        parser.feed(bytes, 0, bytes.length);
        assertThat(seen).containsExactly("status 401");
    }
}
