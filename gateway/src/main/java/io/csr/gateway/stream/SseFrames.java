package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.contract.RedisStreams;
import io.csr.common.contract.UpdateType;
import io.csr.common.json.Json;
import redis.clients.jedis.resps.StreamEntry;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Renders Contract 3 frames: {@code id}/{@code event}/one-line {@code data}, comments, {@code retry}. */
public final class SseFrames {
    public static final byte[] RETRY = "retry: 3000\n\n".getBytes(StandardCharsets.UTF_8);
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

    /** {@code event: close} written just before the server ends a stream on purpose. */
    public static byte[] close(String reason) {
        return event("close", Map.of("reason", reason));
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
