package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.DirectSink;
import io.csr.gateway.stream.FrameBody;
import io.csr.gateway.stream.Update;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The chunked body of an HTTP/1.1 answer, written on the connection's {@link DataWriter}: what is written between two
 * flushes (up to {@code maxChunkBytes}) leaves as one chunk in one socket write, the first one together with the
 * answer's head; {@link #close()} writes the last chunk.
 *
 * <p>Between flushes it holds no buffer: the bytes are gathered straight into the array that is written, which is
 * dropped after the write. An idle stream, flushed after every frame, so keeps nothing here, where a buffered
 * stream would keep its buffer for as long as the connection lives.
 *
 * <p>A live event alone in its flush (the common case: one event, one flush) is not copied at all: its ready-made chunk
 * ({@link Update#httpChunk}), built once by the tail reader and shared by every connection of the company, is what
 * is written. Anything else written before the flush turns it back into a gathered chunk.
 *
 * <p>Between flushes the socket may be written by the tail readers directly ({@link #directSink}, whole chunks only),
 * and the rest of a chunk they began goes out first with {@link #writeRaw}.
 */
final class ChunkedBody extends OutputStream implements FrameBody {
    /** Room for a chunk-size line in front of the data: up to 8 hex digits and CRLF. */
    private static final int SIZE_LINE = 10;
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** CRLF after the data, then possibly the last chunk. */
    private static final int TAIL = 2 + LAST_CHUNK.length;
    private static final int FIRST_ALLOCATION = 512;

    private final DataWriter writer;
    private final int maxChunkBytes;
    /** The answer's head until it went out with the first chunk. */
    private byte[] head;
    /** The chunk being gathered, data in [front, end); null when nothing is. */
    private byte[] chunk;
    private int front;
    private int end;
    private boolean closed;
    /** A live update whose shared chunk is the whole of what the next flush writes; null when there is none. */
    private Update shared;
    /** The socket under {@code writer} for the tail readers' direct writes; null when there is none (TLS). */
    private final DirectSink sink;

    ChunkedBody(DataWriter writer, byte[] head, int maxChunkBytes) {
        this(writer, head, maxChunkBytes, null);
    }

    ChunkedBody(DataWriter writer, byte[] head, int maxChunkBytes, DirectSink sink) {
        this.writer = writer;
        this.head = head;
        this.maxChunkBytes = maxChunkBytes;
        this.sink = sink;
    }

    @Override
    public DirectSink directSink() {
        return sink;
    }

    @Override
    public void writeRaw(byte[] bytes) throws IOException {
        if (closed || head != null) {
            throw new IOException(closed ? "the answer's body is closed" : "the answer's head has not been written");
        }
        send(false); // nothing gathered in the common case; if there is, it was written before
        writer.writeNow(BufferData.create(bytes));
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("the answer's body is closed");
        }
        if (len == 0) {
            return;
        }
        unshare();
        gather(b, off, len);
    }

    private void gather(byte[] b, int off, int len) {
        if (chunk != null && end - front + len > maxChunkBytes) {
            send(false);
        }
        if (chunk == null) {
            front = (head == null ? 0 : head.length) + SIZE_LINE;
            end = front;
            chunk = new byte[front + Math.max(len, FIRST_ALLOCATION) + TAIL];
        } else if (end + len + TAIL > chunk.length) {
            chunk = Arrays.copyOf(chunk, Math.max(2 * chunk.length, end + len + TAIL));
        }
        System.arraycopy(b, off, chunk, end, len);
        end += len;
    }

    @Override
    public void writeFrame(Update update) throws IOException {
        if (closed) {
            throw new IOException("the answer's body is closed");
        }
        if (update.httpChunk() != null && chunk == null && shared == null && head == null) {
            shared = update;
            return;
        }
        byte[] frame = update.frame();
        write(frame, 0, frame.length);
    }

    /** Something else goes into the next chunk too: the shared update is gathered like any other bytes. */
    private void unshare() {
        Update u = shared;
        if (u != null) {
            shared = null;
            gather(u.frame(), 0, u.frame().length);
        }
    }

    @Override
    public void flush() {
        if (!closed) {
            send(false);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            send(true);
            closed = true;
        }
    }

    /** The last chunk was written: the answer is complete and the connection can carry another request. */
    boolean complete() {
        return closed;
    }

    private void send(boolean last) {
        if (shared != null) {
            if (!last) {
                byte[] ready = shared.httpChunk();
                shared = null;
                writer.writeNow(BufferData.create(ready));
                return;
            }
            unshare(); // the last chunk goes in the same write
        }
        if (chunk == null) {
            byte[] tail = last ? LAST_CHUNK : new byte[0];
            byte[] out = head == null ? tail : concat(head, tail);
            head = null;
            if (out.length > 0) {
                writer.writeNow(BufferData.create(out));
            }
            return;
        }
        byte[] sizeLine = (Integer.toHexString(end - front) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        int start = front - sizeLine.length;
        System.arraycopy(sizeLine, 0, chunk, start, sizeLine.length);
        if (head != null) {
            start -= head.length;
            System.arraycopy(head, 0, chunk, start, head.length);
            head = null;
        }
        chunk[end++] = '\r';
        chunk[end++] = '\n';
        if (last) {
            System.arraycopy(LAST_CHUNK, 0, chunk, end, LAST_CHUNK.length);
            end += LAST_CHUNK.length;
        }
        byte[] out = chunk;
        chunk = null;
        writer.writeNow(BufferData.create(out, start, end - start));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
