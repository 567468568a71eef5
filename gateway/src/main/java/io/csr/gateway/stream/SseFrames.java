package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.contract.RedisStreams;
import io.csr.common.contract.UpdateType;
import io.csr.common.json.Json;
import redis.clients.jedis.resps.StreamEntry;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Renders Contract 3 frames: {@code id}/{@code event}/one-line {@code data}, comments, {@code retry}. */
public final class SseFrames {
    /**
     * Middle of the reconnect delay every stream is told first ({@code retry}), ms. Each stream gets its own value,
     * uniform within ±50 % of it ({@link #retry()}): clients that lost their streams together (a gateway killed or
     * drained, a load balancer restarted) come back spread over {@value} ms instead of all in the same second.
     */
    public static final int RETRY_MILLIS = 3000;
    /** The spread of the {@code retry} a draining node gives each stream with its {@code event: close}, ms. */
    public static final int DRAIN_RETRY_MIN_MILLIS = 500;
    public static final int DRAIN_RETRY_MAX_MILLIS = 5000;
    public static final byte[] HEARTBEAT = ": heartbeat\n\n".getBytes(StandardCharsets.UTF_8);

    private SseFrames() {
    }

    /** The frame of one Redis entry, or null when the entry is not a Contract 3 update (it is skipped and logged by the caller). */
    public static Update toUpdate(String companyId, StreamEntry entry) {
        Map<String, String> fields = entry.getFields();
        String type = fields.get(RedisStreams.FIELD_TYPE);
        String data = fields.get(RedisStreams.FIELD_DATA);
        if (type == null || data == null) {
            return null;
        }
        try {
            UpdateType.fromWire(type);
        } catch (IllegalArgumentException e) {
            return null;
        }
        String oneLine = oneLine(data);
        if (oneLine == null) {
            return null;
        }
        String id = entry.getID().toString();
        byte[] frame = ("id: " + id + "\nevent: " + type + "\ndata: " + oneLine + "\n\n").getBytes(StandardCharsets.UTF_8);
        return new Update(companyId, entry.getID(), frame);
    }

    static String oneLine(String data) {
        if (data.indexOf('\n') < 0 && data.indexOf('\r') < 0) {
            return data;
        }
        try {
            JsonNode node = Json.mapper().readTree(data);
            return Json.mapper().writeValueAsString(node);
        } catch (Exception e) {
            return null;
        }
    }

    /** {@code event: reset} with data naming the reason; carries no id (the client keeps its last one until the next event). */
    public static byte[] reset(String reason, String detail) {
        return event("reset", Map.of("reason", reason, "message", detail));
    }

    /** The {@code retry} frame a stream starts with: {@link #RETRY_MILLIS} jittered by ±50 %. */
    public static byte[] retry() {
        return retryLine(RETRY_MILLIS / 2 + ThreadLocalRandom.current().nextInt(RETRY_MILLIS + 1), "\n");
    }

    private static byte[] retryLine(int millis, String end) {
        return ("retry: " + millis + "\n" + end).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * {@code event: close} written just before the server ends a stream on purpose. A node shutting down
     * ({@code shutdown}) puts a {@code retry} of its own into the same frame, jittered between
     * {@value #DRAIN_RETRY_MIN_MILLIS} and {@value #DRAIN_RETRY_MAX_MILLIS} ms, so its clients reconnect (elsewhere) spread out.
     */
    public static byte[] close(String reason) {
        byte[] frame = event("close", Map.of("reason", reason));
        if (!"shutdown".equals(reason)) {
            return frame;
        }
        byte[] retry = retryLine(DRAIN_RETRY_MIN_MILLIS
                + ThreadLocalRandom.current().nextInt(DRAIN_RETRY_MAX_MILLIS - DRAIN_RETRY_MIN_MILLIS + 1), "");
        byte[] both = new byte[retry.length + frame.length];
        System.arraycopy(retry, 0, both, 0, retry.length);
        System.arraycopy(frame, 0, both, retry.length, frame.length);
        return both;
    }

    public static byte[] comment(String text) {
        return (": " + text + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] event(String name, Map<String, String> data) {
        try {
            return ("event: " + name + "\ndata: " + Json.mapper().writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
