package io.csr.job.backfill;

import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;

import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * After a backfill has committed its rows and recomputed their windows, tells the live job, through the event stream,
 * which span of each (company, metric) it recomputed: one notice per key, on that metric's own subject
 * ({@code metrics.<metric>} or {@code q2q.<dimension>}), body
 * {@code {"eventId", "companyId", "occurredAt", "backfilled": {"from", "to"}, "publishUpdates"}}.
 *
 * <p>In the stream the notice is ordered after everything published before it and is read again after the live job
 * restores an older checkpoint, so the live job's keyed state ({@code aggregate.WindowAggregator}) learns the span
 * exactly once per state lineage: from then on a window meeting it is recomputed instead of written from state (which
 * holds only the live part of it), and the whole span is recomputed once more after the live job's next commit. Each
 * notice has a fresh id (a re-run of the same backfill must reach the live job again) and is acknowledged by
 * JetStream before the backfill reports success; a failure here fails the backfill, and running it again is harmless.
 */
final class BackfillNotices {
    private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,64}");

    private BackfillNotices() {
    }

    /** One (company, metric)'s span of history: its subject and [fromMs, toMs). */
    record Span(String companyId, String subject, long fromMs, long toMs) {
    }

    /** The span of history of every (company, metric) the range holds in {@code event_log} (journeys have none). */
    static List<Span> spans(PostgresSettings postgres, BackfillRange range) throws Exception {
        List<Span> out = new ArrayList<>();
        try (java.sql.Connection c = postgres.connectUnchecked(); PreparedStatement ps = c.prepareStatement(range.spansSql())) {
            ps.setObject(1, range.start().atOffset(ZoneOffset.UTC));
            ps.setObject(2, range.end().atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String subject = rs.getString(2);
                    int dot = subject.indexOf('.');
                    if (dot < 0 || !NAME.matcher(subject.substring(dot + 1)).matches()
                            || !(subject.startsWith("metrics.") || subject.startsWith("q2q."))) {
                        continue; // journeys, and subjects the validator rejects anyway
                    }
                    out.add(new Span(rs.getString(1), subject, rs.getLong(3), rs.getLong(4) + 1));
                }
            }
        }
        return out;
    }

    /** The notice's JSON body (Contract 1's required fields plus the span). */
    static String body(String eventId, Span span, boolean publishUpdates, Instant now) throws IOException {
        Map<String, Object> backfilled = new LinkedHashMap<>();
        backfilled.put("from", Instant.ofEpochMilli(span.fromMs()).toString());
        backfilled.put("to", Instant.ofEpochMilli(span.toMs()).toString());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("eventId", eventId);
        body.put("companyId", span.companyId());
        body.put("occurredAt", now.toString());
        body.put("backfilled", backfilled);
        body.put("publishUpdates", publishUpdates);
        return Json.mapper().writeValueAsString(body);
    }

    /** Publishes one notice per span and waits for JetStream to acknowledge each; returns how many. */
    static int publish(String natsUrl, String subjectPrefix, List<Span> spans, boolean publishUpdates) throws Exception {
        if (spans.isEmpty()) {
            return 0;
        }
        Options options = new Options.Builder().server(natsUrl).connectionName("csr-backfill notices")
                .connectionTimeout(Duration.ofSeconds(10)).build();
        try (Connection nats = Nats.connect(options)) {
            JetStream js = nats.jetStream();
            List<CompletableFuture<PublishAck>> pending = new ArrayList<>();
            Instant now = Instant.now();
            for (Span span : spans) {
                String id = "backfilled-" + UUID.randomUUID();
                NatsMessage message = NatsMessage.builder()
                        .subject((subjectPrefix == null ? "" : subjectPrefix) + span.subject())
                        .headers(new Headers().put("Nats-Msg-Id", id))
                        .data(body(id, span, publishUpdates, now).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                        .build();
                pending.add(js.publishAsync(message));
            }
            for (CompletableFuture<PublishAck> ack : pending) {
                try {
                    ack.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    throw new IOException("telling the live job through NATS at " + natsUrl + " which windows the backfill "
                            + "recomputed failed: " + e.getMessage() + "; check that the stream exists (bin/csr up), then run "
                            + "the same backfill again (it changes nothing else)", e);
                }
            }
            return spans.size();
        }
    }
}
