package io.csr.gateway.stream;

import redis.clients.jedis.StreamEntryID;

import java.nio.charset.StandardCharsets;

/**
 * One Contract 3 event, rendered once and shared by every subscriber of the company.
 *
 * @param frame     the SSE frame ({@code id}/{@code event}/{@code data} and the blank line)
 * @param httpChunk the same frame as one HTTP/1.1 chunk (size line, frame, CRLF), built once by the tail reader for a
 *                  live event and written as it is by every direct stream whose flush carries this one frame, so a
 *                  delivery copies nothing; null for replayed events (a replay page goes out as one chunk of many frames)
 */
public record Update(String companyId, StreamEntryID id, byte[] frame, byte[] httpChunk) implements Subscriber.Item {
    /** An update without its shared chunk (replay, tests). */
    public Update(String companyId, StreamEntryID id, byte[] frame) {
        this(companyId, id, frame, null);
    }

    /** This update with its frame as one HTTP/1.1 chunk, for fanning out live. */
    public Update withHttpChunk() {
        if (httpChunk != null) {
            return this;
        }
        byte[] size = (Integer.toHexString(frame.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] chunk = new byte[size.length + frame.length + 2];
        System.arraycopy(size, 0, chunk, 0, size.length);
        System.arraycopy(frame, 0, chunk, size.length, frame.length);
        chunk[chunk.length - 2] = '\r';
        chunk[chunk.length - 1] = '\n';
        return new Update(companyId, id, frame, chunk);
    }

    public long xaddMillis() {
        return id.getTime();
    }
}
