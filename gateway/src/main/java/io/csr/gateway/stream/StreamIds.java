package io.csr.gateway.stream;

import redis.clients.jedis.StreamEntryID;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** SSE ids are Redis stream entry ids ({@code <ms>-<seq>}); their ms part is the XADD time. */
public final class StreamIds {
    private static final Pattern ID = Pattern.compile("(\\d{1,19})(?:-(\\d{1,19}))?");
    public static final StreamEntryID ZERO = new StreamEntryID(0, 0);

    private StreamIds() {
    }

    /** The id a client sent, or empty when it is not a stream id (a full id {@code ms-seq}, or {@code ms} meaning {@code ms-0}). */
    public static Optional<StreamEntryID> parse(String raw) {
        if (raw == null) {
            return Optional.empty();
        }
        Matcher m = ID.matcher(raw.trim());
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            long ms = Long.parseUnsignedLong(m.group(1));
            long seq = m.group(2) == null ? 0 : Long.parseUnsignedLong(m.group(2));
            if (ms < 0 || seq < 0) {
                return Optional.empty();
            }
            return Optional.of(new StreamEntryID(ms, seq));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * The id just before {@code id} (above 0-0), as Redis parses it: an XREAD from it answers {@code id} first when
     * {@code id} is in the stream, since no id lies between them.
     */
    public static String before(StreamEntryID id) {
        if (id.getSequence() != 0) {
            return id.getTime() + "-" + Long.toUnsignedString(id.getSequence() - 1);
        }
        return Long.toUnsignedString(id.getTime() - 1) + "-" + Long.toUnsignedString(-1L);
    }

    public static boolean isAfter(StreamEntryID a, StreamEntryID b) {
        return a.compareTo(b) > 0;
    }
}
