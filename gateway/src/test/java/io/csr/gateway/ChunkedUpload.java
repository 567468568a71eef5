package io.csr.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A large chunked upload over a raw socket that stops as soon as the answer arrives, so a test sees when the gateway
 * answered and how much had been sent by then (an HTTP client library would finish its upload first).
 */
public final class ChunkedUpload {
    private ChunkedUpload() {
    }

    /**
     * The answer, how much of the body had been written when its status line arrived, how long that took, its header
     * lines, and whether the server closed the connection right after it (within 2 s).
     */
    public record Answer(int status, String body, long sentBeforeAnswer, long nanosToAnswer, String headers, boolean closedAfter) {
    }

    /**
     * Sends {@code requestLine} ({@code "PUT /path"}) with a chunked body of up to {@code size} bytes — {@code first},
     * then {@code unit} repeated — from a writer thread while this thread waits for the answer.
     */
    public static Answer send(int port, String requestLine, String token, String contentType, String first, String unit, long size)
            throws IOException, InterruptedException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            long t0 = System.nanoTime();
            out.write((requestLine + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\nContent-Type: " + contentType
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            AtomicLong sent = new AtomicLong();
            AtomicBoolean answered = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                byte[] chunk = new byte[64 * 1024];
                byte[] u = unit.getBytes(StandardCharsets.UTF_8);
                byte[] head = first.getBytes(StandardCharsets.UTF_8);
                long pos = 0;
                try {
                    while (pos < size && !answered.get()) {
                        int n = (int) Math.min(chunk.length, size - pos);
                        for (int k = 0; k < n; k++, pos++) {
                            chunk[k] = pos < head.length ? head[(int) pos] : u[(int) ((pos - head.length) % u.length)];
                        }
                        out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(chunk, 0, n);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        sent.addAndGet(n);
                    }
                    if (!answered.get()) {
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (IOException closed) {
                    // the server closed the connection after answering: what a refused upload should see
                }
            });
            InputStream in = socket.getInputStream();
            String status = line(in);
            long took = System.nanoTime() - t0;
            long sentBeforeAnswer = sent.get();
            answered.set(true);
            int length = 0;
            StringBuilder headers = new StringBuilder();
            for (String h = line(in); !h.isEmpty(); h = line(in)) {
                headers.append(h).append('\n');
                if (h.regionMatches(true, 0, "content-length:", 0, 15)) {
                    length = Integer.parseInt(h.substring(15).trim());
                }
            }
            String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            boolean closed;
            socket.setSoTimeout(2_000);
            try {
                closed = in.read() < 0;
            } catch (IOException e) {
                closed = !(e instanceof java.net.SocketTimeoutException); // a reset is a close too
            }
            writer.join(10_000);
            return new Answer(Integer.parseInt(status.split(" ")[1]), body, sentBeforeAnswer, took, headers.toString(), closed);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("connection closed before a full line: '" + b + "'");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }
}
