package io.csr.gateway.stream;

import java.io.IOException;

/**
 * An SSE body that can send a live event's ready-made HTTP chunk ({@link Update#httpChunk}) as it is, shared with every
 * other connection of the company, instead of copying the frame into a chunk of its own.
 */
public interface FrameBody {
    /** Writes the update's frame, as {@link java.io.OutputStream#write(byte[])} of {@link Update#frame} would. */
    void writeFrame(Update update) throws IOException;
}
