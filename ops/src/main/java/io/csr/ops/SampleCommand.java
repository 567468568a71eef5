package io.csr.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.EventSubjects;
import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * {@code csr sample}: publishes realistic Contract 1 events (metrics incl. sroi and vis, q2q scores, journey flags)
 * for a few demo companies to JetStream at a steady rate, so a newcomer sees live dashboards move. Like the platform's
 * producers it records every event it publishes in PostgreSQL {@code event_log} ({@link EventLogWriter}), and it
 * makes sure the demo companies have participants ({@link DemoParticipants}), so the analytics views and backfills
 * have data. With {@code NATS_PARTITIONS} &gt; 1 it publishes partitioned subjects ({@code metrics.<p>.sroi}, the
 * partition from the companyId) and still records the original subject in event_log.
 * <pre>
 *   csr sample [--rate 20] [--count N | --seconds S] [--companies acme,globex,initech] [--subject-prefix P] [--seed 42]
 * </pre>
 */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = {"Publish realistic sample events to NATS for demo companies.",
                "Metrics (sroi, vis, ...), q2q scores and journey flags, recorded in PostgreSQL event_log as the "
                + "producers do; runs until Ctrl-C unless --count or --seconds."})
final class SampleCommand extends CsrCommand {
    static final List<String> METRICS = List.of("sroi", "vis", "integration_score", "language_level", "mentoring_hours");
    static final List<String> Q2Q = List.of("confidence", "belonging", "wellbeing");
    static final List<String> FLAGS = List.of("onboarded", "matched_mentor", "at_risk");
    static final int USERS = 200;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "20", description = "events per second (default: ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--count", paramLabel = "N", description = "stop after N events")
    long count;

    @Option(names = "--seconds", paramLabel = "S", description = "stop after S seconds")
    long seconds;

    @Option(names = "--seed", description = "random seed (default: the clock)")
    Long seed;

    @Option(names = "--subject-prefix", paramLabel = "P", defaultValue = "", description = "prefix of every subject, e.g. test1.")
    String subjectPrefix;

    @Option(names = "--companies", paramLabel = "A,B", split = ",", defaultValue = "acme,globex,initech",
            description = "demo companies (default: ${DEFAULT-VALUE})")
    List<String> companies;

    /** Checks what picocli's types cannot: positive numbers, company ids; normalises the subject prefix. */
    SampleCommand validated() {
        if (rate <= 0) {
            throw usage("--rate " + rate + " must be a positive whole number of events per second");
        }
        if (count < 0 || seconds < 0) {
            throw usage((count < 0 ? "--count " + count : "--seconds " + seconds) + " must be positive (leave it out to run until Ctrl-C)");
        }
        companies = companies.stream().map(String::strip).filter(c -> !c.isEmpty()).toList();
        for (String c : companies) {
            if (!c.matches("[A-Za-z0-9_-]{1,64}")) {
                throw usage("--companies: '" + c + "' does not match [A-Za-z0-9_-]{1,64}");
            }
        }
        if (!subjectPrefix.isEmpty() && !subjectPrefix.endsWith(".")) {
            subjectPrefix = subjectPrefix + ".";
        }
        if (seed == null) {
            seed = System.nanoTime();
        }
        return this;
    }

    @Override
    public Integer call() throws Exception {
        SampleCommand o = validated();
        CsrConfig config = config();
        Random random = new Random(o.seed);
        long publishedOk = 0;
        long start = System.nanoTime();
        long periodNanos = 1_000_000_000L / o.rate;
        ArrayDeque<CompletableFuture<PublishAck>> inFlight = new ArrayDeque<>();
        PostgresSettings pg = PostgresSettings.from(config);
        int added;
        try {
            added = DemoParticipants.fill(pg, o.companies);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot write the demo participants to PostgreSQL at " + pg.url() + " (schema " + pg.schema()
                    + "): " + e.getMessage() + " (events are recorded in event_log too, so PostgreSQL must be up and migrated: bin/csr up)", e);
        }
        System.out.printf("    participants of %s: %d added (existing ones kept)%n", String.join(",", o.companies), added);
        int partitions = EventSubjects.requirePartitions(config.getInt(ConfigKey.NATS_PARTITIONS));
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL)); EventLogWriter eventLog = EventLogWriter.open(pg)) {
            JetStream js = nc.jetStream();
            if (partitions > 1) {
                System.out.printf("    partitioned subjects: NATS_PARTITIONS=%d (e.g. %s)%n", partitions,
                        publishSubject(new Sample("metrics.sroi", "", "", o.companies.get(0), Instant.now()), partitions));
            }
            System.out.printf("    publishing %s events at %d/s for %s to %s (Ctrl-C stops)%n",
                    o.count > 0 ? o.count : "endless", o.rate, String.join(",", o.companies), config.get(ConfigKey.NATS_URL));
            for (long i = 0; o.count <= 0 || i < o.count; i++) {
                if (o.seconds > 0 && System.nanoTime() - start > o.seconds * 1_000_000_000L) {
                    break;
                }
                Sample s = next(random, o.companies, Instant.now());
                inFlight.add(js.publishAsync(o.subjectPrefix + publishSubject(s, partitions), s.json.getBytes(StandardCharsets.UTF_8)));
                eventLog.add(s.eventId, s.subject, s.companyId, s.occurredAt, s.json);
                while (inFlight.size() > 1000 || (!inFlight.isEmpty() && inFlight.peek().isDone())) {
                    inFlight.poll().get();
                    publishedOk++;
                }
                if ((i + 1) % (o.rate * 10L) == 0) {
                    System.out.printf("    %d events published%n", i + 1);
                }
                long due = start + (i + 1) * periodNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
            while (!inFlight.isEmpty()) {
                inFlight.poll().get();
                publishedOk++;
            }
            eventLog.flush();
            System.out.printf("    recorded %d events in PostgreSQL event_log (schema %s)%n", eventLog.written(), pg.schema());
        }
        System.out.printf("    published %d events in %.1f s%n", publishedOk, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** {@code subject} is Contract 1's original form, as event_log records it; {@link #publishSubject} adds the partition. */
    record Sample(String subject, String json, String eventId, String companyId, Instant occurredAt) {
    }

    /**
     * The subject a sample is published to: the original form with one partition, else {@code <family>.<p>.<name>}
     * with {@code p} chosen from the companyId, as every producer does ({@link EventSubjects}), so each company's
     * events stay in order on one partition.
     */
    static String publishSubject(Sample s, int partitions) {
        EventSubjects.Subject parts = EventSubjects.parse(s.subject);
        return EventSubjects.subject(parts.family(), parts.name(), s.companyId, partitions);
    }

    /** One random but plausible event: 60% metrics, 25% q2q, 15% journey. */
    static Sample next(Random r, List<String> companies, Instant now) {
        String company = companies.get(r.nextInt(companies.size()));
        String user = "u" + (1 + r.nextInt(USERS));
        String eventId = UUID.randomUUID().toString();
        // milliseconds, as Contract 1's example and event_log's microsecond column both hold exactly
        Instant occurredAt = now.minusMillis(r.nextInt(2_000)).truncatedTo(ChronoUnit.MILLIS);
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("eventId", eventId);
        n.put("companyId", company);
        n.put("userId", user);
        n.put("occurredAt", occurredAt.toString());
        int kind = r.nextInt(100);
        String subject;
        if (kind < 60) {
            String metric = METRICS.get(r.nextInt(METRICS.size()));
            subject = "metrics." + metric;
            n.put("metric", metric);
            n.put("value", round(valueFor(metric, r)));
        } else if (kind < 85) {
            String dim = Q2Q.get(r.nextInt(Q2Q.size()));
            subject = "q2q." + dim;
            n.put("score", round(Math.min(1, Math.max(0, 0.6 + r.nextGaussian() * 0.15))));
        } else {
            String flag = FLAGS.get(r.nextInt(FLAGS.size()));
            subject = "journey." + flag;
            n.put("value", r.nextInt(100) < (flag.equals("at_risk") ? 30 : 75));
        }
        return new Sample(subject, n.toString(), eventId, company, occurredAt);
    }

    private static double valueFor(String metric, Random r) {
        switch (metric) {
            case "sroi": return Math.max(0.5, 3.2 + r.nextGaussian() * 0.8);
            case "vis": return Math.min(100, Math.max(0, 68 + r.nextGaussian() * 12));
            case "language_level": return 1 + r.nextInt(6);
            case "mentoring_hours": return Math.max(0.25, 1.5 + r.nextGaussian());
            default: return Math.min(1, Math.max(0, 0.55 + r.nextGaussian() * 0.2));
        }
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
