package io.csr.perf.sse;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Incremental parser of an HTTP/1.1 response carrying text/event-stream: status line and headers, then either
 * chunked or plain body, split into SSE events. Feed it bytes as they arrive; it calls back per complete event.
 */
public final class SseFrameParser {
    public interface Listener {
        void onStatus(int status);

        void onEvent(String id, String event, String data);

        void onComment(String comment);

        /** A {@code retry} field: the reconnect delay the server asks for, ms (ignored unless a client reconnects). */
        default void onRetry(long millis) {
        }
    }

    private enum State { HEADERS, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, BODY }

    private final Listener listener;
    private State state = State.HEADERS;
    private final StringBuilder line = new StringBuilder(256);
    private boolean chunked;
    private long chunkRemaining;
    private boolean statusSeen;
    private final StringBuilder bodyLine = new StringBuilder(256);
    private boolean bodyCr;
    private String id;
    private String event;
    private StringBuilder data;

    public SseFrameParser(Listener listener) {
        this.listener = listener;
    }

    /**
     * Feeds what {@code socket} receives, read on a daemon thread {@code threadName} in reads of up to
     * {@code bufferBytes}, until the stream ends or the socket is closed (how a client stops it).
     */
    public Thread readOnThread(Socket socket, String threadName, int bufferBytes) {
        return Thread.ofPlatform().daemon(true).name(threadName).start(() -> {
            byte[] buf = new byte[bufferBytes];
            try (InputStream in = socket.getInputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    feed(buf, 0, n);
                }
            } catch (IOException closed) {
                // closed by the client, or the server ended the stream
            }
        });
    }

    public void feed(byte[] buf, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end) {
            switch (state) {
                case HEADERS -> {
                    byte b = buf[i++];
                    if (b == '\n') {
                        String l = line.toString();
                        line.setLength(0);
                        if (!statusSeen) {
                            statusSeen = true;
                            String[] parts = l.split(" ");
                            listener.onStatus(parts.length > 1 ? Integer.parseInt(parts[1].trim()) : -1);
                        } else if (l.isEmpty()) {
                            state = chunked ? State.CHUNK_SIZE : State.BODY;
                        } else if (l.toLowerCase().startsWith("transfer-encoding:") && l.toLowerCase().contains("chunked")) {
                            chunked = true;
                        }
                    } else if (b != '\r') {
                        line.append((char) b);
                    }
                }
                case CHUNK_SIZE -> {
                    byte b = buf[i++];
                    if (b == '\n') {
                        String hex = line.toString().trim();
                        int semi = hex.indexOf(';');
                        if (semi >= 0) {
                            hex = hex.substring(0, semi);
                        }
                        line.setLength(0);
                        chunkRemaining = hex.isEmpty() ? 0 : Long.parseLong(hex, 16);
                        state = chunkRemaining == 0 ? State.CHUNK_CRLF : State.CHUNK_DATA;
                    } else if (b != '\r') {
                        line.append((char) b);
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(chunkRemaining, end - i);
                    body(buf, i, n);
                    i += n;
                    chunkRemaining -= n;
                    if (chunkRemaining == 0) {
                        state = State.CHUNK_CRLF;
                    }
                }
                case CHUNK_CRLF -> {
                    byte b = buf[i++];
                    if (b == '\n') {
                        state = State.CHUNK_SIZE;
                    }
                }
                case BODY -> {
                    body(buf, i, end - i);
                    i = end;
                }
            }
        }
    }

    private void body(byte[] buf, int off, int len) {
        int start = off;
        for (int i = off; i < off + len; i++) {
            byte b = buf[i];
            if (b == '\n' || b == '\r') {
                if (b == '\n' && bodyCr) {
                    bodyCr = false;
                    start = i + 1;
                    continue;
                }
                bodyLine.append(new String(buf, start, i - start, StandardCharsets.UTF_8));
                line(bodyLine.toString());
                bodyLine.setLength(0);
                bodyCr = b == '\r';
                start = i + 1;
            } else {
                bodyCr = false;
            }
        }
        if (start < off + len) {
            bodyLine.append(new String(buf, start, off + len - start, StandardCharsets.UTF_8));
        }
    }

    private void line(String l) {
        if (l.isEmpty()) {
            if (data != null || id != null || event != null) {
                listener.onEvent(id, event == null ? "message" : event, data == null ? "" : data.toString());
            }
            id = null;
            event = null;
            data = null;
            return;
        }
        if (l.startsWith(":")) {
            listener.onComment(l.substring(1).trim());
            return;
        }
        int colon = l.indexOf(':');
        String field = colon < 0 ? l : l.substring(0, colon);
        String value = colon < 0 ? "" : l.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "id" -> id = value;
            case "event" -> event = value;
            case "data" -> {
                if (data == null) {
                    data = new StringBuilder(value);
                } else {
                    data.append('\n').append(value);
                }
            }
            case "retry" -> {
                if (!value.isEmpty() && value.chars().allMatch(Character::isDigit) && value.length() < 10) {
                    listener.onRetry(Long.parseLong(value));
                }
            }
            default -> { /* unknown fields are ignored */ }
        }
    }
}
