package io.csr.job.testing;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;

import io.nats.client.JetStreamApiException;
import io.nats.client.PublishOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.Locale;
import java.util.UUID;

/**
 * A JetStream stream of the test's own ({@code IT_<id>} over {@code it_<id>.metrics.>} etc.), so tests never touch
 * CSR_EVENTS; deleted on close.
 */
public final class TestStream implements AutoCloseable {
    public static final String NATS_URL = System.getProperty("NATS_URL", "nats://127.0.0.1:4222");

    public final String id;
    public final String stream;
    public final String prefix;
    private final Connection connection;
    private final JetStream js;

    public TestStream() throws Exception {
        id = UUID.randomUUID().toString().replace("-", "").substring(0, 8).toLowerCase(Locale.ROOT);
        stream = "IT_" + id.toUpperCase(Locale.ROOT);
        prefix = "it_" + id + ".";
        connection = Nats.connect(NATS_URL);
        JetStreamManagement jsm = connection.jetStreamManagement();
        jsm.addStream(StreamConfiguration.builder().name(stream).storageType(StorageType.File)
                .duplicateWindow(Duration.ofMinutes(10))
                .subjects(prefix + "metrics.>", prefix + "journey.>", prefix + "q2q.>").build());
        js = connection.jetStream();
    }

    /** Publishes to {@code <prefix><subject>} and returns the stream sequence. */
    public long publish(String subject, String json) throws Exception {
        PublishAck ack = js.publish(prefix + subject, json.getBytes(StandardCharsets.UTF_8));
        return ack.getSeqno();
    }

    /**
     * Publishes a metrics.sroi event of company acme occurring now, value 1: traffic whose figures the test does not
     * check. Returns its stream sequence.
     */
    public long publishMetric(String eventId) throws Exception {
        return publish("metrics.sroi", "{\"eventId\":\"" + eventId + "\",\"companyId\":\"acme\",\"occurredAt\":\""
                + Instant.now() + "\",\"value\":1}");
    }

    /** {@link #publishMetric} {@code count} times, with event ids {@code <idPrefix>0} to {@code <idPrefix><count - 1>}. */
    public void publishMetrics(String idPrefix, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            publishMetric(idPrefix + i);
        }
    }

    /** Publishes without waiting for each ack (fast bulk loads); call {@link #flush()} after. */
    public java.util.concurrent.CompletableFuture<PublishAck> publishAsync(String subject, byte[] body) {
        return js.publishAsync(prefix + subject, body);
    }

    /**
     * Publishes messages {@code [from, to)} and appends each one's stream sequence to {@code sequences}, in order.
     * Each message carries a Nats-Msg-Id derived from its index, so a publish retried after a lost ack (a busy machine)
     * is recognised by the server as the same message and keeps its sequence: no message is stored twice.
     */
    public void publishAll(List<EventFixture.Message> messages, int from, int to, List<Long> sequences) throws Exception {
        final int window = 500;
        for (int start = from; start < to; start += window) {
            int end = Math.min(to, start + window);
            List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
            for (int i = start; i < end; i++) {
                acks.add(js.publishAsync(prefix + messages.get(i).subject(),
                        messages.get(i).body().getBytes(StandardCharsets.UTF_8), options(i)));
            }
            for (int i = start; i < end; i++) {
                sequences.add(ack(acks.get(i - start), messages.get(i), i));
            }
        }
    }

    private long ack(CompletableFuture<PublishAck> pending, EventFixture.Message m, int index) throws Exception {
        try {
            return pending.get(30, TimeUnit.SECONDS).getSeqno();
        } catch (ExecutionException | TimeoutException e) {
            for (int attempt = 1; ; attempt++) {
                try {
                    return js.publish(prefix + m.subject(), m.body().getBytes(StandardCharsets.UTF_8), options(index)).getSeqno();
                } catch (IOException | JetStreamApiException retry) {
                    if (attempt == 5) {
                        throw retry;
                    }
                }
            }
        }
    }

    private PublishOptions options(int index) {
        return PublishOptions.builder().messageId(id + "-" + index).streamTimeout(Duration.ofSeconds(10)).build();
    }

    /** Removes the message at stream sequence {@code seq}, as if it had never been published. */
    public void deleteMessage(long seq) throws Exception {
        if (!connection.jetStreamManagement().deleteMessage(stream, seq)) {
            throw new IllegalStateException("JetStream did not delete message " + seq + " of " + stream);
        }
    }

    public Connection connection() {
        return connection;
    }

    @Override
    public void close() throws Exception {
        try {
            connection.jetStreamManagement().deleteStream(stream);
        } finally {
            connection.close();
        }
    }
}
