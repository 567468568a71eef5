package io.csr.common.contract;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Contract 1's subjects, for producers and for the job alike. Two forms are accepted:
 * <pre>
 *   &lt;family&gt;.&lt;name&gt;               metrics.sroi       the original form, still accepted
 *   &lt;family&gt;.&lt;partition&gt;.&lt;name&gt;   metrics.3.sroi     partitioned: partition = partitionOf(companyId, NATS_PARTITIONS)
 * </pre>
 * The family is {@code metrics}, {@code journey} or {@code q2q}; the name matches {@code [a-z0-9_]{1,64}}; the
 * partition is a decimal number in {@code [0, MAX_PARTITIONS)} without leading zeros. The number of tokens tells the
 * forms apart (a name never contains a dot). A producer that puts all of one company's events on one partition keeps
 * them in order: JetStream orders a stream, and the job reads each partition with one reader.
 *
 * <p>The partition function is FNV-1a (32 bit) over the UTF-8 bytes of the companyId, taken unsigned modulo the
 * partition count — small enough to re-implement in any producer's language:
 * <pre>
 *   h = 0x811c9dc5; for each byte b: h = (h XOR b) * 0x01000193 mod 2^32;  partition = h mod partitions
 * </pre>
 */
public final class EventSubjects {
    /** The subject families of Contract 1. */
    public static final List<String> FAMILIES = List.of("metrics", "journey", "q2q");
    /** Partition tokens are below this; {@code NATS_PARTITIONS} is at most this. */
    public static final int MAX_PARTITIONS = 256;

    private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,64}");
    private static final Pattern PARTITION = Pattern.compile("0|[1-9][0-9]{0,2}");
    private static final int SHOWN_CHARS = 80;

    private EventSubjects() {
    }

    /** A subject taken apart: {@code partition} is -1 for the unpartitioned form. */
    public record Subject(String family, int partition, String name) {
        public boolean partitioned() {
            return partition >= 0;
        }
    }

    /** A subject that is not one of Contract 1's forms; the message names the bad part and the rule. */
    public static final class InvalidSubject extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        InvalidSubject(String message) {
            super(message);
        }
    }

    /** The partition of a company among {@code partitions}: FNV-1a of its UTF-8 bytes, unsigned, modulo the count. */
    public static int partitionOf(String companyId, int partitions) {
        requirePartitions(partitions);
        int h = 0x811c9dc5;
        for (byte b : companyId.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x01000193;
        }
        return Integer.remainderUnsigned(h, partitions);
    }

    /**
     * The subject a producer publishes an event of {@code companyId} to: {@code family.name} when {@code partitions}
     * is 1 (the original form), else {@code family.<partitionOf(companyId)>.name}.
     */
    public static String subject(String family, String name, String companyId, int partitions) {
        requirePartitions(partitions);
        if (!FAMILIES.contains(family)) {
            throw new InvalidSubject("family '" + shown(family) + "' is not one of " + FAMILIES);
        }
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidSubject("name '" + shown(name) + "' must match [a-z0-9_]{1,64}");
        }
        return partitions == 1 ? family + "." + name : family + "." + partitionOf(companyId, partitions) + "." + name;
    }

    /** @throws IllegalArgumentException naming NATS_PARTITIONS when {@code partitions} is outside [1, MAX_PARTITIONS] */
    public static int requirePartitions(int partitions) {
        if (partitions < 1 || partitions > MAX_PARTITIONS) {
            throw new IllegalArgumentException("NATS_PARTITIONS=" + partitions + " must be within [1, " + MAX_PARTITIONS + "]");
        }
        return partitions;
    }

    /**
     * Takes a Contract 1 subject (without any test prefix) apart.
     *
     * @throws InvalidSubject naming the subject, the offending token and the accepted forms
     */
    public static Subject parse(String subject) {
        if (subject == null || subject.isEmpty()) {
            throw new InvalidSubject("message has no subject; expected metrics.<metric>, journey.<flag> or q2q.<dimension>"
                    + " (or metrics.<partition>.<metric> etc.)");
        }
        String[] tokens = subject.split("\\.", -1);
        String family = tokens[0];
        if (!FAMILIES.contains(family)) {
            throw new InvalidSubject("subject '" + shown(subject) + "' is not metrics.<metric>, journey.<flag> or q2q.<dimension>");
        }
        if (tokens.length == 2) {
            return new Subject(family, -1, name(subject, family, tokens[1]));
        }
        if (tokens.length == 3) {
            String token = tokens[1];
            if (!PARTITION.matcher(token).matches() || Integer.parseInt(token) >= MAX_PARTITIONS) {
                throw new InvalidSubject("subject '" + shown(subject) + "': partition token '" + shown(token)
                        + "' must be a partition number 0.." + (MAX_PARTITIONS - 1) + " without leading zeros ("
                        + family + ".<partition>." + "<name>, the partition chosen from the companyId by "
                        + "EventSubjects.partitionOf with NATS_PARTITIONS)");
            }
            return new Subject(family, Integer.parseInt(token), name(subject, family, tokens[2]));
        }
        throw new InvalidSubject("subject '" + shown(subject) + "' has " + (tokens.length == 1 ? "no name" : tokens.length + " tokens")
                + "; expected " + family + ".<name> or " + family + ".<partition>.<name>");
    }

    private static String name(String subject, String family, String name) {
        if (!NAME.matcher(name).matches()) {
            throw new InvalidSubject("subject '" + shown(subject) + "': name '" + shown(name)
                    + "' must match [a-z0-9_]{1,64} (the last token after '" + family + ".')");
        }
        return name;
    }

    private static String shown(String s) {
        if (s == null) {
            return "null";
        }
        return s.length() <= SHOWN_CHARS ? s : s.substring(0, SHOWN_CHARS) + "…";
    }
}
