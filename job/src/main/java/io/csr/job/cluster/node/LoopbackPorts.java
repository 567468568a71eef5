package io.csr.job.cluster.node;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Whether a server restarted on its loopback ports can listen there again. A port of a node that just died is free for
 * any process's outgoing connection (an ephemeral port, when it lies inside {@code net.ipv4.ip_local_port_range}); such
 * a socket, and its TIME_WAIT for 60 s after it closes, makes the server's bind fail with "Address already in use"
 * even with SO_REUSEADDR, and clickhouse-server exits on that.
 */
final class LoopbackPorts {
    private static final Map<String, String> TCP_STATES = Map.ofEntries(Map.entry("01", "ESTABLISHED"),
            Map.entry("02", "SYN_SENT"), Map.entry("03", "SYN_RECV"), Map.entry("04", "FIN_WAIT1"), Map.entry("05", "FIN_WAIT2"),
            Map.entry("06", "TIME_WAIT"), Map.entry("07", "CLOSE"), Map.entry("08", "CLOSE_WAIT"), Map.entry("09", "LAST_ACK"),
            Map.entry("0A", "LISTEN"), Map.entry("0B", "CLOSING"));

    private LoopbackPorts() {
    }

    /** Whether a listening socket with SO_REUSEADDR (as clickhouse-server opens it) can bind 127.0.0.1:port now. */
    static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The given ports that cannot be bound now. */
    static List<Integer> busy(List<Integer> ports) {
        return ports.stream().filter(p -> !bindable(p)).toList();
    }

    /**
     * Waits up to {@code timeout} until every port can be bound; returns the ports still busy then (empty: all free).
     */
    static List<Integer> awaitBindable(List<Integer> ports, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Integer> busy = busy(ports);
        while (!busy.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(250);
            busy = busy(ports);
        }
        return busy;
    }

    /**
     * The sockets whose local port is {@code port}, from /proc/net/tcp and tcp6, e.g. {@code "ESTABLISHED to
     * 127.0.0.1:6379"}; empty when none or not on Linux.
     */
    static List<String> holders(int port) {
        List<String> out = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                List<String> lines = Files.readAllLines(Path.of(table));
                for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3 && Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) == port) {
                        out.add(TCP_STATES.getOrDefault(f[3], f[3]) + " to " + address(f[2]));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or the table changed while read: the caller's message just names no holder
            }
        }
        return out;
    }

    /** How each busy port is held, for an error message. */
    static String describe(List<Integer> busy) {
        List<String> parts = new ArrayList<>();
        for (int port : busy) {
            List<String> h = holders(port);
            parts.add(port + (h.isEmpty() ? "" : " (" + String.join(", ", h.subList(0, Math.min(3, h.size())))
                    + (h.size() > 3 ? ", +" + (h.size() - 3) + " more" : "") + ")"));
        }
        return String.join(", ", parts);
    }

    /** {@code 0100007F:18EB} (IPv4 in host byte order, as /proc shows it) → {@code 127.0.0.1:6379}; IPv4-mapped IPv6 as IPv4, other IPv6 stays hex. */
    private static String address(String hex) {
        int colon = hex.indexOf(':');
        int port = Integer.parseInt(hex.substring(colon + 1), 16);
        String ip = hex.substring(0, colon);
        if (ip.length() == 32 && ip.startsWith("0000000000000000FFFF0000")) { // ::ffff:a.b.c.d, a Java socket's IPv4
            ip = ip.substring(24);
        }
        if (ip.length() != 8) {
            return "[" + ip + "]:" + port;
        }
        long v = Long.parseLong(ip, 16);
        return (v & 0xff) + "." + ((v >> 8) & 0xff) + "." + ((v >> 16) & 0xff) + "." + ((v >> 24) & 0xff) + ":" + port;
    }
}
