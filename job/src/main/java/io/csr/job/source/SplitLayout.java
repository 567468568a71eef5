package io.csr.job.source;

import io.csr.common.contract.EventSubjects;
import io.synadia.flink.source.AckBehavior;
import io.synadia.flink.source.JetStreamSubjectConfiguration;
import io.synadia.flink.source.split.JetStreamSplit;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * How the source cuts the stream into splits (one ordered consumer each, read by one reader), from the partition count
 * {@code NATS_PARTITIONS}:
 * <ul>
 *   <li>1: one split per family, {@code <prefix>metrics.>} etc. — what the job always did;</li>
 *   <li>N &gt; 1: per family one split per partition, {@code <prefix>metrics.<p>.*}, plus one for the original
 *       subjects, {@code <prefix>metrics.*} — so 3 × (N + 1) splits. Partition-major order, so that handing split
 *       {@code i} to reader {@code i mod parallelism} spreads the busy {@code metrics} partitions over the readers.</li>
 * </ul>
 * With N &gt; 1, a subject none of these filters matches (a bad partition token, one at or above N, more tokens) is a
 * <em>stray</em>: the enumerator finds it in the stream and reads it through a split of its own, so that it still
 * reaches the dead-letter table ({@link PartitionedSplitEnumerator}).
 */
final class SplitLayout implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern PARTITION = Pattern.compile("0|[1-9][0-9]{0,2}");

    final String streamName;
    final String prefix;
    final List<String> families;
    final int partitions;
    final int batchSize;

    SplitLayout(String streamName, String prefix, List<String> families, int partitions, int batchSize) {
        this.streamName = streamName;
        this.prefix = prefix;
        this.families = List.copyOf(families);
        this.partitions = partitions;
        this.batchSize = batchSize;
    }

    /** The subject filters of the configured splits, in assignment order. */
    List<String> filters() {
        List<String> filters = new ArrayList<>();
        if (partitions == 1) {
            families.forEach(f -> filters.add(prefix + f + ".>"));
            return filters;
        }
        for (int p = 0; p < partitions; p++) {
            for (String f : families) {
                filters.add(prefix + f + "." + p + ".*");
            }
        }
        families.forEach(f -> filters.add(prefix + f + ".*"));
        return filters;
    }

    /** How many readers can get a split: more source subtasks than this would idle. */
    int splitCount() {
        return partitions == 1 ? families.size() : families.size() * (partitions + 1);
    }

    List<JetStreamSplit> splits() {
        return filters().stream().map(f -> new JetStreamSplit(config(f))).toList();
    }

    /** A NoAck (ordered consumer) subject configuration; positions live in Flink checkpoints. */
    JetStreamSubjectConfiguration config(String filter) {
        return JetStreamSubjectConfiguration.builder().streamName(streamName).subject(filter).batchSize(batchSize)
                .ackBehavior(AckBehavior.NoAck).build();
    }

    /** Whether a configured split reads this stream subject (prefix included). */
    boolean covers(String subject) {
        if (!subject.startsWith(prefix)) {
            return false;
        }
        String[] tokens = subject.substring(prefix.length()).split("\\.", -1);
        if (tokens.length < 2 || !families.contains(tokens[0])) {
            return false;
        }
        if (partitions == 1 || tokens.length == 2) {
            return true;
        }
        return tokens.length == 3 && PARTITION.matcher(tokens[1]).matches() && Integer.parseInt(tokens[1]) < partitions;
    }

    /** The subjects whose strays to look for: the families' whole subject spaces. */
    List<String> familyFilters() {
        return families.stream().map(f -> prefix + f + ".>").toList();
    }

    static int checkedPartitions(int partitions) {
        return EventSubjects.requirePartitions(partitions);
    }
}
