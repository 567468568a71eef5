package io.csr.job.testing;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;

import java.nio.charset.StandardCharsets;
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
                .subjects(prefix + "metrics.>", prefix + "journey.>", prefix + "q2q.>").build());
        js = connection.jetStream();
    }

    /** Publishes to {@code <prefix><subject>} and returns the stream sequence. */
    public long publish(String subject, String json) throws Exception {
        PublishAck ack = js.publish(prefix + subject, json.getBytes(StandardCharsets.UTF_8));
        return ack.getSeqno();
    }

    /** Publishes without waiting for each ack (fast bulk loads); call {@link #flush()} after. */
    public java.util.concurrent.CompletableFuture<PublishAck> publishAsync(String subject, byte[] body) {
        return js.publishAsync(prefix + subject, body);
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
