package io.csr.gateway.stream.direct;

import io.csr.gateway.stream.DirectSink;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PlainSocket;
import io.helidon.webserver.ConnectionContext;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The accepted {@link SocketChannel} under a plain (not TLS) connection, for the tail readers' non-blocking writes
 * ({@link DirectSink}). Helidon 4.5 accepts every connection as a {@code SocketChannel} and, with {@code useNio(false)},
 * serves it through {@link PlainSocket} over the channel's socket adaptor, whose writes ({@code SocketWriterDirect},
 * on the caller's thread) are plain blocking writes on that channel: switched to non-blocking while lent, they are
 * the same channel writes without the wait. Helidon exposes neither, so the channel is read from
 * {@code PlainSocket}'s socket once per connection; when that is not possible (another Helidon, TLS, an asynchronous
 * writer) there is no sink and the writer thread writes every event as before.
 */
final class ChannelSink implements DirectSink {
    private static final Logger LOG = Logger.getLogger(ChannelSink.class.getName());
    private static final VarHandle DELEGATE = delegateHandle();

    private final SocketChannel channel;

    private ChannelSink(SocketChannel channel) {
        this.channel = channel;
    }

    /** The connection's channel as a sink, or null when its writes do not go straight to a plain channel. */
    static ChannelSink of(ConnectionContext ctx) {
        if (DELEGATE == null || ctx.isSecure()) {
            return null;
        }
        HelidonSocket socket = ctx.serverSocket();
        DataWriter writer = ctx.dataWriter();
        // exactly PlainSocket (TlsSocket extends it) written by the direct writer (an asynchronous one writes later, elsewhere)
        if (socket == null || socket.getClass() != PlainSocket.class || !"io.helidon.common.socket.SocketWriterDirect".equals(writer.getClass().getName())) {
            return null;
        }
        SocketChannel channel = ((Socket) DELEGATE.get(socket)).getChannel();
        return channel == null ? null : new ChannelSink(channel);
    }

    private static VarHandle delegateHandle() {
        try {
            return MethodHandles.privateLookupIn(PlainSocket.class, MethodHandles.lookup()).findVarHandle(PlainSocket.class, "delegate", Socket.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(Level.WARNING, "Helidon's PlainSocket has no socket field 'delegate' (another Helidon version?): live events are "
                    + "written by each stream's own thread", e);
            return null;
        }
    }

    @Override
    public void nonBlocking(boolean on) throws IOException {
        channel.configureBlocking(!on);
    }

    @Override
    public long tryWrite(ByteBuffer[] buffers) throws IOException {
        return buffers.length == 1 ? channel.write(buffers[0]) : channel.write(buffers);
    }

    @Override
    public long tryWrite(ByteBuffer buffer) throws IOException {
        return channel.write(buffer);
    }
}
