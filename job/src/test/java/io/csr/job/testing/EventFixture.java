package io.csr.job.testing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A reproducible mix of Contract 1 messages for end-to-end tests and benchmarks: metrics, q2q and journey events over
 * several companies with event time advancing steadily, small out-of-order jitter, some late events (within and far
 * beyond allowed lateness), re-published duplicates (same eventId, same body) and malformed messages.
 */
public final class EventFixture {
    public static final String[] METRICS = {"sroi", "vis", "hours_volunteered", "sessions"};
    public static final String[] Q2Q = {"clarity", "confidence"};
    public static final String[] FLAGS = {"onboarded", "first_session"};

    /** One message to publish. {@code metric} is the windowed metric name (q2q_… for q2q), null for journey/malformed. */
    public record Message(String subject, String body, String companyId, String eventId, String metric,
                          long occurredAtMs, double value, boolean valid, boolean duplicate) {
    }

    private final List<Message> messages = new ArrayList<>();

    /**
     * The mix the cluster and resume tests publish: event time from 10 minutes ago over 5 minutes (every window closes
     * while the test runs), 5 % re-published duplicates and 2 % malformed messages.
     */
    public static EventFixture recent(int total, int companies, long seed) {
        return new EventFixture(total, companies, Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(), Duration.ofMinutes(5).toMillis(),
                0.05, 0.02, seed);
    }

    /**
     * @param total          messages to produce (duplicates and malformed included)
     * @param companies      number of companies
     * @param eventTimeStart occurredAt of the first event; event time advances by {@code spanMs} over the run
     */
    public EventFixture(int total, int companies, long eventTimeStart, long spanMs, double duplicateShare,
                        double malformedShare, long seed) {
        Random r = new Random(seed);
        List<Message> originals = new ArrayList<>();
        int n = 0;
        while (messages.size() < total) {
            double roll = r.nextDouble();
            if (roll < malformedShare) {
                messages.add(malformed(r, n++));
                continue;
            }
            if (roll < malformedShare + duplicateShare && !originals.isEmpty()) {
                Message original = originals.get(originals.size() - 1 - r.nextInt(Math.min(500, originals.size())));
                messages.add(new Message(original.subject(), original.body(), original.companyId(), original.eventId(),
                        original.metric(), original.occurredAtMs(), original.value(), true, true));
                continue;
            }
            long t = eventTimeStart + (long) ((double) spanMs * messages.size() / total) + r.nextInt(4_000) - 2_000;
            double lateRoll = r.nextDouble();
            if (lateRoll < 0.01) {
                t -= 60_000 + r.nextInt(120_000);              // late, within the 10 min allowed lateness
            } else if (lateRoll < 0.015) {
                t -= 3L * 24 * 3_600_000;                      // far beyond lateness: late_events
            }
            String company = "co-" + (1 + r.nextInt(companies));
            String eventId = "e-" + seed + "-" + n++;
            Message m = valid(r, company, eventId, t);
            messages.add(m);
            originals.add(m);
        }
    }

    private static Message valid(Random r, String company, String eventId, long t) {
        String at = Instant.ofEpochMilli(t).toString();
        int kind = r.nextInt(10);
        if (kind < 6) {
            String metric = METRICS[r.nextInt(METRICS.length)];
            double value = Math.round((1 + r.nextDouble() * 999) * 100) / 100.0;
            String body = String.format(Locale.ROOT,
                    "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"occurredAt\":\"%s\",\"value\":%s,\"userId\":\"u%d\"}",
                    eventId, company, at, value, r.nextInt(200));
            return new Message("metrics." + metric, body, company, eventId, metric, t, value, true, false);
        }
        if (kind < 8) {
            String dim = Q2Q[r.nextInt(Q2Q.length)];
            double score = Math.round(r.nextDouble() * 1000) / 1000.0;
            String body = String.format(Locale.ROOT,
                    "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"userId\":\"u%d\",\"occurredAt\":\"%s\",\"score\":%s}",
                    eventId, company, r.nextInt(200), at, score);
            return new Message("q2q." + dim, body, company, eventId, "q2q_" + dim, t, score, true, false);
        }
        String flag = FLAGS[r.nextInt(FLAGS.length)];
        String body = String.format(Locale.ROOT,
                "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"userId\":\"u%d\",\"occurredAt\":\"%s\",\"value\":%s}",
                eventId, company, r.nextInt(200), at, r.nextBoolean());
        return new Message("journey." + flag, body, company, eventId, null, t, 0, true, false);
    }

    private static Message malformed(Random r, int n) {
        String[] bodies = {
                "{not json",
                "{\"eventId\":\"bad-" + n + "\",\"occurredAt\":\"2026-11-27T10:00:00Z\",\"value\":1}",                 // no companyId
                "{\"eventId\":\"bad-" + n + "\",\"companyId\":\"co-1\",\"occurredAt\":\"2026-11-27T10:00:00Z\",\"value\":\"NaN\"}",
                "{\"eventId\":\"bad-" + n + "\",\"companyId\":\"co 1!\",\"occurredAt\":\"2026-11-27T10:00:00Z\",\"value\":2}",
                "{\"eventId\":\"bad-" + n + "\",\"companyId\":\"co-1\",\"occurredAt\":\"yesterday\",\"value\":3}",
        };
        return new Message("metrics.sroi", bodies[r.nextInt(bodies.length)], null, null, null, 0, 0, false, false);
    }

    /**
     * The messages as producers with {@code NATS_PARTITIONS=partitions} publish them: every valid one on
     * {@code <family>.<partitionOf(companyId)>.<name>}, malformed ones unchanged; the same list when partitions is 1.
     */
    public static List<Message> withPartitions(List<Message> messages, int partitions) {
        List<Message> out = new ArrayList<>(messages.size());
        for (Message m : messages) {
            String subject = m.subject();
            if (m.valid() && partitions > 1) {
                io.csr.common.contract.EventSubjects.Subject s = io.csr.common.contract.EventSubjects.parse(subject);
                subject = io.csr.common.contract.EventSubjects.subject(s.family(), s.name(), m.companyId(), partitions);
            }
            out.add(new Message(subject, m.body(), m.companyId(), m.eventId(), m.metric(), m.occurredAtMs(), m.value(), m.valid(),
                    m.duplicate()));
        }
        return out;
    }

    public List<Message> messages() {
        return messages;
    }
}
