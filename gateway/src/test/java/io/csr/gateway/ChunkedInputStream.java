package io.csr.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** Decodes an HTTP/1.1 chunked body from a raw socket stream (tests that drive sockets by hand). */
public final class ChunkedInputStream extends InputStream {
    private final InputStream in;
    private int left;
    private boolean done;

    public ChunkedInputStream(InputStream in) {
        this.in = in;
    }

    /** Reads the status line and headers; returns them as text. */
    public static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed inside the response head: " + head);
            }
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
        }
        return head.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (done) {
            return -1;
        }
        if (left == 0) {
            String size = line();
            if (size == null) {
                done = true;
                return -1;
            }
            if (size.isEmpty()) {
                size = line();
                if (size == null) {
                    done = true;
                    return -1;
                }
            }
            int semi = size.indexOf(';');
            left = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            if (left == 0) {
                done = true;
                return -1;
            }
        }
        int n = in.read(b, off, Math.min(len, left));
        if (n < 0) {
            done = true;
            return -1;
        }
        left -= n;
        return n;
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int l = sb.length();
                return l > 0 && sb.charAt(l - 1) == '\r' ? sb.substring(0, l - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }
}
