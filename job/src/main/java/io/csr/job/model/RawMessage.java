package io.csr.job.model;

import java.util.Arrays;
import java.util.Objects;

/** A message as read from JetStream, before validation. Flink POJO (public fields, no-arg constructor). */
public class RawMessage {
    /** JetStream stream name, e.g. CSR_EVENTS. */
    public String stream;
    /** Subject with any configured test prefix already removed, e.g. {@code metrics.sroi}. */
    public String subject;
    public long streamSeq;
    /** JetStream's timestamp of the message, epoch millis. */
    public long receivedAtMs;
    public byte[] payload;

    public RawMessage() {
    }

    public RawMessage(String stream, String subject, long streamSeq, long receivedAtMs, byte[] payload) {
        this.stream = stream;
        this.subject = subject;
        this.streamSeq = streamSeq;
        this.receivedAtMs = receivedAtMs;
        this.payload = payload;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RawMessage)) {
            return false;
        }
        RawMessage m = (RawMessage) o;
        return streamSeq == m.streamSeq && receivedAtMs == m.receivedAtMs && Objects.equals(stream, m.stream)
                && Objects.equals(subject, m.subject) && Arrays.equals(payload, m.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stream, subject, streamSeq);
    }

    @Override
    public String toString() {
        return "RawMessage{" + stream + "#" + streamSeq + " " + subject + ", " + (payload == null ? 0 : payload.length) + " bytes}";
    }
}
