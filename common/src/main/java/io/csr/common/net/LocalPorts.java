package io.csr.common.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Loopback ports for the servers a test starts of its own. */
public final class LocalPorts {
    private LocalPorts() {
    }

    /** Whether nothing listens on {@code port} of the loopback address. */
    public static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A base port whose {@code base + offset} is free for every one of {@code offsets}: up to 50 random tries of
     * {@code from + 10·k} with {@code k < choices}. Keep every {@code base + offset} below 32768, where Linux's range
     * for outgoing connections starts: a server a test restarts can find its port held by some client's socket there,
     * and ClickHouse, Redis and NATS then exit with "Address already in use".
     */
    public static int freeBase(int from, int choices, int... offsets) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = from + ThreadLocalRandom.current().nextInt(0, choices) * 10;
            boolean free = true;
            for (int i = 0; i < offsets.length && free; i++) {
                free = isFree(base + offsets[i]);
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no free range of ports between " + from + " and " + (from + choices * 10));
    }
}
