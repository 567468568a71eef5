package io.csr.gateway.stream;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The socket under a stream's body, for the tail reader to write a live event to while the stream's own writer thread
 * is parked with nothing to do ({@link Subscriber#offerAll}): one non-blocking write on the reader's thread instead of
 * a wake-up of the writer per delivery. Only one side writes at a time: the writer lends the socket when it parks and
 * takes it back, in blocking mode, when it wakes.
 */
public interface DirectSink {
    /** Non-blocking ({@code true}, while lent to the reader) or blocking ({@code false}, the writer's own writes). */
    void nonBlocking(boolean on) throws IOException;

    /** Writes what the socket takes now without waiting (non-blocking mode); returns the bytes written, possibly 0. */
    long tryWrite(ByteBuffer[] buffers) throws IOException;

    /** {@link #tryWrite(ByteBuffer[])} of one buffer: one event's chunk, the common case, without an array around it. */
    long tryWrite(ByteBuffer buffer) throws IOException;
}
