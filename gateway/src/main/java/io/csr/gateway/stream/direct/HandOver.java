package io.csr.gateway.stream.direct;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;

import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * The connection as Helidon's HTTP/1 gets it from {@link DirectStreamConnection}: the same socket, writer and listener,
 * but a reader that first gives back what was already taken off the socket (the first request's head, or what
 * followed a stream's head), then reads on.
 *
 * <p>It also knows whether the connection's thread is blocked waiting for the client ({@link #blockedNanos}), which
 * Helidon's HTTP/1 does not tell: waiting between requests, within a head, or within a body are all the same to a
 * client that stopped sending, and the connection's idle timeout applies to each.
 */
final class HandOver implements ConnectionContext {
    private final ConnectionContext ctx;
    private final DataReader reader;
    private byte[] pending;
    private volatile long blockedSince;

    /** @param pending bytes already read from the socket, to be read again first */
    HandOver(ConnectionContext ctx, byte[] pending) {
        this.ctx = ctx;
        this.pending = pending;
        this.reader = new DataReader(this::next);
    }

    private byte[] next() {
        byte[] p = pending;
        if (p != null) {
            pending = null;
            if (p.length > 0) {
                return p;
            }
        }
        DataReader socket = ctx.dataReader();
        blockedSince = System.nanoTime() | 1; // never 0 while blocked
        try {
            socket.ensureAvailable();
            return socket.readBytes(socket.available());
        } catch (DataReader.InsufficientDataAvailableException e) {
            return null; // the client closed the connection
        } finally {
            blockedSince = 0;
        }
    }

    /** How long the connection's thread has been waiting for the client's next bytes; 0 when it is not waiting. */
    long blockedNanos() {
        long since = blockedSince;
        return since == 0 ? 0 : Math.max(1, System.nanoTime() - since);
    }

    @Override
    public DataReader dataReader() {
        return reader;
    }

    @Override
    public ListenerContext listenerContext() {
        return ctx.listenerContext();
    }

    @Override
    public ExecutorService executor() {
        return ctx.executor();
    }

    @Override
    public DataWriter dataWriter() {
        return ctx.dataWriter();
    }

    @Override
    public Router router() {
        return ctx.router();
    }

    @Override
    public Optional<ProxyProtocolData> proxyProtocolData() {
        return ctx.proxyProtocolData();
    }

    @Override
    public HelidonSocket serverSocket() {
        return ctx.serverSocket();
    }

    @Override
    public PeerInfo remotePeer() {
        return ctx.remotePeer();
    }

    @Override
    public PeerInfo localPeer() {
        return ctx.localPeer();
    }

    @Override
    public boolean isSecure() {
        return ctx.isSecure();
    }

    @Override
    public String socketId() {
        return ctx.socketId();
    }

    @Override
    public String childSocketId() {
        return ctx.childSocketId();
    }
}
