package io.csr.gateway.stream;

import java.io.IOException;

/**
 * An SSE body that can send a live event's ready-made HTTP chunk ({@link Update#httpChunk}) as it is, shared with every
 * other connection of the company, instead of copying the frame into a chunk of its own.
 */
public interface FrameBody {
    /** Writes the update's frame, as {@link java.io.OutputStream#write(byte[])} of {@link Update#frame} would. */
    void writeFrame(Update update) throws IOException;

    /**
     * The socket under this body, when the tail reader may write live events to it while the writer is parked
     * ({@link DirectSink}); null when it may not (TLS, a routed answer).
     */
    default DirectSink directSink() {
        return null;
    }

    /**
     * Writes bytes that are already HTTP framing of this body (the rest of a chunk the reader began on the socket,
     * {@link Subscriber.Unsent}) as they are, before anything else written after this call; nothing may be gathered.
     */
    default void writeRaw(byte[] bytes) throws IOException {
        throw new IOException("this body has no socket of its own to continue a chunk on");
    }
}
