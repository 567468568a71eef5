package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.Update;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataWriter;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkedBodyTest {
    private static final String HEAD = "HTTP/1.1 200 OK\r\n\r\n";
    private static final String FRAME = "data: x\n\n";

    /** Records every socket write as text. */
    private static final class Socket implements DataWriter {
        final List<String> writes = new ArrayList<>();
        /** The array behind each write, when it was handed over whole. */
        final List<byte[]> arrays = new ArrayList<>();

        @Override
        public void write(BufferData... buffers) {
            writeNow(buffers);
        }

        @Override
        public void write(BufferData buffer) {
            writeNow(buffer);
        }

        @Override
        public void writeNow(BufferData... buffers) {
            for (BufferData b : buffers) {
                writeNow(b);
            }
        }

        @Override
        public void writeNow(BufferData buffer) {
            // Helidon's FixedBufferData keeps the array it wraps in its field 'bytes'
            byte[] whole = new byte[0];
            try {
                java.lang.reflect.Field f = buffer.getClass().getDeclaredField("bytes");
                f.setAccessible(true);
                whole = (byte[]) f.get(buffer);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new AssertionError("cannot see the array behind " + buffer.getClass(), e);
            }
            arrays.add(whole);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            buffer.writeTo(out);
            writes.add(out.toString(StandardCharsets.ISO_8859_1));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void theHeadLeavesWithTheFirstChunkAndEachFlushIsOneWrite() throws Exception {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 4096);
        body.write(bytes(FRAME));
        assertThat(socket.writes).as("nothing before the flush").isEmpty();
        body.flush();
        body.write(bytes(FRAME));
        body.write(bytes(FRAME));
        body.flush();
        body.flush();
        assertThat(socket.writes).containsExactly(HEAD + "9\r\n" + FRAME + "\r\n", "12\r\n" + FRAME + FRAME + "\r\n");
    }

    @Test
    void closeWritesTheLastChunkAndCompletesTheAnswer() throws Exception {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 4096);
        body.write(bytes(FRAME));
        body.flush();
        assertThat(body.complete()).isFalse();
        body.write(bytes(FRAME));
        body.close();
        body.close();
        assertThat(body.complete()).isTrue();
        assertThat(socket.writes).containsExactly(HEAD + "9\r\n" + FRAME + "\r\n", "9\r\n" + FRAME + "\r\n0\r\n\r\n");
        assertThatThrownBy(() -> body.write(bytes(FRAME))).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void anAnswerWithoutBodyIsHeadAndLastChunk() {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 4096);
        body.close();
        assertThat(socket.writes).containsExactly(HEAD + "0\r\n\r\n");
    }

    @Test
    void whatExceedsTheChunkLimitGoesOutBeforeTheFlush() throws Exception {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 20);
        body.write(bytes(FRAME)); // 9
        body.write(bytes(FRAME)); // 18
        body.write(bytes(FRAME)); // 27 > 20: the first two leave now
        String big = "x".repeat(1000);
        body.write(bytes(big)); // larger than the limit: its own chunk, after the pending one
        body.flush();
        assertThat(socket.writes).containsExactly(HEAD + "12\r\n" + FRAME + FRAME + "\r\n", "9\r\n" + FRAME + "\r\n",
                "3e8\r\n" + big + "\r\n");
    }

    private static Update live(long ms, String frame) {
        return new Update("acme", new StreamEntryID(ms, 0), bytes(frame)).withHttpChunk();
    }

    @Test
    void aLiveEventAloneInItsFlushIsWrittenAsItsSharedChunkUncopied() throws Exception {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 4096);
        body.write(bytes(FRAME));
        body.flush(); // the head leaves with the first chunk
        Update u = live(1, FRAME);
        body.writeFrame(u);
        body.flush();
        assertThat(socket.writes).containsExactly(HEAD + "9\r\n" + FRAME + "\r\n", "9\r\n" + FRAME + "\r\n");
        assertThat(socket.arrays.get(1)).as("the update's own chunk, shared by every connection").isSameAs(u.httpChunk());
    }

    @Test
    void aLiveEventWithOtherBytesInTheSameFlushIsGatheredInOrder() throws Exception {
        Socket socket = new Socket();
        ChunkedBody body = new ChunkedBody(socket, bytes(HEAD), 4096);
        Update first = live(1, "data: a\n\n");
        body.writeFrame(first); // the head is still to go: gathered
        body.writeFrame(live(2, "data: b\n\n"));
        body.flush();
        body.writeFrame(live(3, "data: c\n\n")); // shared ...
        body.writeFrame(live(4, "data: d\n\n")); // ... until a second frame comes: both gathered, in order
        body.write(bytes(FRAME));
        body.flush();
        body.writeFrame(live(5, "data: e\n\n"));
        body.close(); // the last chunk goes in the same write
        assertThat(socket.writes).containsExactly(
                HEAD + "12\r\ndata: a\n\ndata: b\n\n\r\n",
                "1b\r\ndata: c\n\ndata: d\n\n" + FRAME + "\r\n",
                "9\r\ndata: e\n\n\r\n0\r\n\r\n");
        assertThat(first.frame()).as("shared frames are never written into").isEqualTo(bytes("data: a\n\n"));
    }
}
