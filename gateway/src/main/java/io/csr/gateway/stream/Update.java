package io.csr.gateway.stream;

import redis.clients.jedis.StreamEntryID;

/** One Contract 3 event, rendered once and shared by every subscriber of the company. */
public record Update(String companyId, StreamEntryID id, byte[] frame) implements Subscriber.Item {
    public long xaddMillis() {
        return id.getTime();
    }
}
