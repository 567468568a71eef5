package io.csr.perf.soak;

import io.csr.common.verify.ExactlyOnceCheck;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamOptions;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak's traffic and its ledger: Contract 1 events for several companies — metrics and q2q scores with known
 * values, journey flags, re-published duplicates (same eventId and body, a new JetStream message), malformed messages,
 * events late within the allowed lateness and very late beyond it — plus one probe event every 250 ms for company
 * {@value #PROBE_COMPANY}, whose arrival measures recovery. Everything published is in the ledger with the JetStream
 * sequence it was stored under, and in {@code ledger.jsonl} of the work dir.
 * <p>
 * A publish that gets no ack (NATS down, stalled) is retried with the same {@code Nats-Msg-Id}, so JetStream stores a
 * message once even when the first attempt was stored and only its ack was lost; the ledger records it once, with the
 * sequence the ack names. Traffic therefore pauses while NATS is down, as a producer that waits for its acks does.
 */
final class Traffic implements AutoCloseable {
    static final String PROBE_COMPANY = "soakprobe";
    static final String PROBE_METRIC = "probe";
    static final String[] METRICS = {"sroi", "vis", "hours_volunteered"};
    static final long PROBE_PERIOD_MS = 250;
    /** Users per company: u0 … u49. */
    static final int USERS = 50;

    /** One ledger line: the verdict's view plus when and what kind it was, and whose (null: no user, e.g. a probe). */
    record Entry(ExactlyOnceCheck.Published published, long publishedAtMs, String kind, String subject, String userId) {
    }

    private final Connection nc;
    private final JetStream js;
    private final String run;
    private final List<String> companies;
    private final Random random;
    private final List<Entry> ledger = new ArrayList<>();
    private final List<Entry> originals = new ArrayList<>();
    private final BufferedWriter ledgerFile;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong probes = new AtomicLong();
    private final AtomicLong newValid = new AtomicLong();
    private final AtomicLong publishRetries = new AtomicLong();
    private volatile int rate;
    private volatile int multiplier = 1;
    private volatile boolean stop;
    private long n;

    Traffic(String natsUrl, String run, List<String> companies, int rate, long seed, Path ledgerPath) throws IOException, InterruptedException {
        this.nc = Nats.connect(Options.builder().server(natsUrl).maxReconnects(-1).reconnectWait(Duration.ofMillis(250))
                .connectionTimeout(Duration.ofSeconds(2)).build());
        this.js = nc.jetStream(JetStreamOptions.builder().requestTimeout(Duration.ofSeconds(2)).build());
        this.run = run;
        this.companies = List.copyOf(companies);
        this.rate = rate;
        this.random = new Random(seed);
        this.ledgerFile = Files.newBufferedWriter(ledgerPath, StandardCharsets.UTF_8);
    }

    void burst(boolean on) {
        multiplier = on ? 10 : 1;
    }

    long published() {
        return published.get();
    }

    /** Valid messages that were not duplicates: the rows events should get. */
    long newValid() {
        return newValid.get();
    }

    long probes() {
        return probes.get();
    }

    long publishRetries() {
        return publishRetries.get();
    }

    synchronized List<Entry> ledger() {
        return List.copyOf(ledger);
    }

    void stop() {
        stop = true;
    }

    /** Publishes until {@link #stop()} or {@code untilNanos}: traffic at the rate (times 10 in a burst), probes every 250 ms. */
    void runUntil(long untilNanos) throws Exception {
        long nextTraffic = System.nanoTime();
        long nextProbe = System.nanoTime();
        while (!stop && System.nanoTime() < untilNanos) {
            long now = System.nanoTime();
            if (now >= nextProbe) {
                publishProbe();
                nextProbe += PROBE_PERIOD_MS * 1_000_000L;
                if (nextProbe < System.nanoTime()) {
                    nextProbe = System.nanoTime() + PROBE_PERIOD_MS * 1_000_000L; // no catch-up storm after an outage
                }
                continue;
            }
            if (now >= nextTraffic) {
                publishTraffic();
                nextTraffic += 1_000_000_000L / ((long) rate * multiplier);
                if (nextTraffic < System.nanoTime() - 1_000_000_000L) {
                    nextTraffic = System.nanoTime();
                }
                continue;
            }
            long sleep = Math.min(nextTraffic, nextProbe) - now;
            Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        }
    }

    private void publishProbe() throws Exception {
        long t = System.currentTimeMillis();
        String eventId = run + "-p" + probes.get();
        String body = "{\"eventId\":\"" + eventId + "\",\"companyId\":\"" + PROBE_COMPANY + "\",\"occurredAt\":\""
                + Instant.ofEpochMilli(t) + "\",\"value\":1}";
        publish("metrics." + PROBE_METRIC, body, PROBE_COMPANY, eventId, PROBE_METRIC, t, 1, true, "probe", null);
        probes.incrementAndGet();
    }

    private void publishTraffic() throws Exception {
        double roll = random.nextDouble();
        long now = System.currentTimeMillis();
        if (roll < 0.02) {
            String[] bodies = {
                    "{not json",
                    "{\"eventId\":\"" + run + "-bad" + n + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(now) + "\",\"value\":1}",
                    "{\"eventId\":\"" + run + "-bad" + n + "\",\"companyId\":\"" + companies.get(0) + "\",\"occurredAt\":\""
                            + Instant.ofEpochMilli(now) + "\",\"value\":\"NaN\"}",
                    "{\"eventId\":\"" + run + "-bad" + n + "\",\"companyId\":\"co 1!\",\"occurredAt\":\"" + Instant.ofEpochMilli(now) + "\",\"value\":2}",
                    "{\"eventId\":\"" + run + "-bad" + n + "\",\"companyId\":\"" + companies.get(0) + "\",\"occurredAt\":\"yesterday\",\"value\":3}",
            };
            n++;
            publish("metrics.sroi", bodies[random.nextInt(bodies.length)], null, null, null, 0, 0, false, "malformed", null);
            return;
        }
        if (roll < 0.06 && !originals.isEmpty()) {
            Entry o = originals.get(originals.size() - 1 - random.nextInt(Math.min(300, originals.size())));
            ExactlyOnceCheck.Published p = o.published();
            publish(o.subject(), bodyOf(o), p.companyId(), p.eventId(), p.metric(), p.occurredAtMs(), p.value(), true, "duplicate", o.userId());
            return;
        }
        String kind = "live";
        long t = now - random.nextInt(2_000);
        double late = random.nextDouble();
        if (late < 0.02) {
            kind = "late";
            t = now - 60_000 - random.nextInt(120_000);            // within the 10 min allowed lateness
        } else if (late < 0.03) {
            kind = "very_late";
            t = now - 20 * 60_000L - random.nextInt(20 * 60_000);  // beyond it: late_events and a correction
        } else if (late < 0.033) {
            kind = "very_late";
            t = now - 2L * 86_400_000L - random.nextInt(3_600_000); // days ago: another day's window
        }
        String company = companies.get(random.nextInt(companies.size()));
        String eventId = run + "-" + n++;
        String at = Instant.ofEpochMilli(t).toString();
        String user = "u" + random.nextInt(USERS);
        int what = random.nextInt(10);
        if (what < 7) {
            String metric = METRICS[random.nextInt(METRICS.length)];
            double value = (1 + random.nextInt(99_900)) / 100.0;
            String body = String.format(Locale.ROOT, "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"occurredAt\":\"%s\",\"value\":%s,\"userId\":\"%s\"}",
                    eventId, company, at, value, user);
            publish("metrics." + metric, body, company, eventId, metric, t, value, true, kind, user);
        } else if (what < 9) {
            double score = random.nextInt(1001) / 1000.0;
            String body = String.format(Locale.ROOT, "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"userId\":\"%s\",\"occurredAt\":\"%s\",\"score\":%s}",
                    eventId, company, user, at, score);
            publish("q2q.clarity", body, company, eventId, "q2q_clarity", t, score, true, kind, user);
        } else {
            String body = String.format(Locale.ROOT, "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"userId\":\"%s\",\"occurredAt\":\"%s\",\"value\":%s}",
                    eventId, company, user, at, random.nextBoolean());
            publish("journey.onboarded", body, company, eventId, null, t, 0, true, kind, user);
        }
    }

    private final java.util.Map<String, String> bodies = new java.util.HashMap<>();

    private String bodyOf(Entry e) {
        return bodies.get(e.published().companyId() + "/" + e.published().eventId());
    }

    private void publish(String subject, String body, String company, String eventId, String metric, long occurredAtMs,
                         double value, boolean valid, String kind, String user) throws Exception {
        String msgId = run + "-m" + published.get();
        Headers h = new Headers().add("Nats-Msg-Id", msgId);
        NatsMessage msg = NatsMessage.builder().subject(subject).headers(h).data(body.getBytes(StandardCharsets.UTF_8)).build();
        PublishAck ack = null;
        while (ack == null) {
            try {
                ack = js.publish(msg);
            } catch (IOException | JetStreamApiException | IllegalStateException e) {
                publishRetries.incrementAndGet();
                if (stop) {
                    throw new IllegalStateException("publish of " + msgId + " not acknowledged when the soak stopped: " + e.getMessage(), e);
                }
                Thread.sleep(200);
            }
        }
        long at = System.currentTimeMillis();
        Entry e = new Entry(new ExactlyOnceCheck.Published(company, eventId, metric, occurredAtMs, value, valid, ack.getSeqno()), at, kind, subject, user);
        synchronized (this) {
            ledger.add(e);
        }
        if (valid && !"duplicate".equals(kind) && !"probe".equals(kind)) {
            originals.add(e);
            bodies.put(company + "/" + eventId, body);
        }
        published.incrementAndGet();
        if (valid && !"duplicate".equals(kind)) {
            newValid.incrementAndGet();
        }
        ledgerFile.write("{\"seq\":" + ack.getSeqno() + ",\"publishedAt\":" + at + ",\"kind\":\"" + kind + "\",\"subject\":\"" + subject
                + "\",\"body\":" + io.csr.common.json.Json.mapper().writeValueAsString(body) + "}\n");
    }

    @Override
    public void close() throws Exception {
        ledgerFile.close();
        nc.close();
    }
}
