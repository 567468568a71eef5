package io.csr.job.backfill;

import io.csr.job.model.CsrEvent;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.NatsMessage;
import io.nats.client.impl.Headers;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Hands historical journey events to the live job, through the event stream, so its per-user flag state — and so
 * {@code usersFlagged} — covers history and live alike, now and for every live event after. (A backfill that counted
 * journeys on its own could only ever replace the live count, never merge with it.) The live job's dedup drops what
 * it already has, and "latest occurredAt per user wins" makes re-applying an old event harmless. Each message carries
 * {@code Nats-Msg-Id: backfill-<company>-<eventId>}, so JetStream drops a re-publish within its duplicate window too.
 * At least once: every pending publish is acknowledged before a checkpoint completes.
 */
public final class JourneyForwarder implements Sink<CsrEvent> {
    private static final long serialVersionUID = 1L;

    private final String natsUrl;
    private final String subjectPrefix;

    public JourneyForwarder(String natsUrl, String subjectPrefix) {
        this.natsUrl = natsUrl;
        this.subjectPrefix = subjectPrefix == null ? "" : subjectPrefix;
    }

    @Override
    @Deprecated
    public SinkWriter<CsrEvent> createWriter(InitContext context) throws IOException {
        return new Writer();
    }

    @Override
    public SinkWriter<CsrEvent> createWriter(WriterInitContext context) throws IOException {
        return new Writer();
    }

    private final class Writer implements SinkWriter<CsrEvent> {
        private final Connection nats;
        private final JetStream js;
        private final List<CompletableFuture<PublishAck>> pending = new ArrayList<>();

        Writer() throws IOException {
            try {
                nats = Nats.connect(new Options.Builder().server(natsUrl).connectionName("csr-backfill journeys")
                        .connectionTimeout(Duration.ofSeconds(10)).build());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while connecting to NATS at " + natsUrl, e);
            }
            js = nats.jetStream();
        }

        @Override
        public void write(CsrEvent event, Context context) throws IOException, InterruptedException {
            Headers headers = new Headers().put("Nats-Msg-Id", "backfill-" + event.companyId + "-" + event.eventId);
            NatsMessage message = NatsMessage.builder().subject(subjectPrefix + event.subject).headers(headers)
                    .data(event.payload.getBytes(StandardCharsets.UTF_8)).build();
            pending.add(js.publishAsync(message));
            if (pending.size() >= 1_000) {
                flush(false);
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException, InterruptedException {
            for (CompletableFuture<PublishAck> ack : pending) {
                try {
                    ack.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    throw new IOException("publishing a historical journey event to NATS at " + natsUrl + " failed: "
                            + e.getMessage() + "; check that the stream exists (bin/csr up) — the backfill retries from its checkpoint", e);
                }
            }
            pending.clear();
        }

        @Override
        public void close() throws Exception {
            nats.close();
        }
    }
}
