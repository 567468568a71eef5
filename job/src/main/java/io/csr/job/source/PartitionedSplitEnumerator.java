package io.csr.job.source;

import io.nats.client.JetStreamApiException;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import io.synadia.flink.source.split.JetStreamSplit;
import io.synadia.flink.utils.ConnectionContext;
import io.synadia.flink.utils.ConnectionFactory;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Hands the {@link SplitLayout}'s splits to the readers, split {@code i} to reader {@code i mod parallelism}, and
 * (with partitions) looks for stray subjects every {@link #STRAY_SCAN_MS}: a subject in the stream that no configured
 * split reads gets a split of its own, so its messages reach the dead-letter table instead of waiting unread. Splits
 * a reader holds are in that reader's state; this enumerator checkpoints only what it has not handed out, the strays
 * it knows and the partition count ({@link SourceEnumState}).
 */
final class PartitionedSplitEnumerator implements SplitEnumerator<JetStreamSplit, SourceEnumState> {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionedSplitEnumerator.class);
    static final long STRAY_SCAN_MS = 30_000;
    /** At most this many stray subjects get a split (each is a consumer and a thread); more are logged, not read. */
    static final int MAX_STRAY_SPLITS = 32;

    private record Pending(JetStreamSplit split, int owner) {
    }

    private final SplitEnumeratorContext<JetStreamSplit> context;
    private final SplitLayout layout;
    private final ConnectionFactory connections;
    private final List<Pending> pending = new ArrayList<>();
    private final Set<String> strays;
    private int handedOut;

    PartitionedSplitEnumerator(SplitEnumeratorContext<JetStreamSplit> context, SplitLayout layout, ConnectionFactory connections,
                               List<JetStreamSplit> unassigned, Set<String> strays) {
        this.context = context;
        this.layout = layout;
        this.connections = connections;
        this.strays = new LinkedHashSet<>(strays);
        unassigned.forEach(this::enqueue);
    }

    private void enqueue(JetStreamSplit split) {
        pending.add(new Pending(split, handedOut++ % Math.max(1, context.currentParallelism())));
    }

    @Override
    public void start() {
        if (layout.partitions > 1) {
            context.callAsync(this::findStrays, this::addStrays, 5_000, STRAY_SCAN_MS);
        }
    }

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        assign(subtaskId);
    }

    @Override
    public void addSplitsBack(List<JetStreamSplit> splits, int subtaskId) {
        splits.forEach(s -> pending.add(new Pending(s, subtaskId)));
    }

    @Override
    public void addReader(int subtaskId) {
        assign(subtaskId);
        // a reader with no split marks itself idle, so that it holds no watermark back (BoundedJetStreamReader); one
        // that restored splits from its own state or got some here ignores this
        context.signalNoMoreSplits(subtaskId);
    }

    private void assign(int subtaskId) {
        if (!context.registeredReaders().containsKey(subtaskId)) {
            return;
        }
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.owner() == subtaskId || p.owner() >= context.currentParallelism()) {
                context.assignSplit(p.split(), subtaskId);
                it.remove();
            }
        }
    }

    /** Runs on a worker thread: the stream's subjects that no configured split reads and no stray split reads yet. */
    List<String> findStrays() throws IOException, JetStreamApiException {
        List<String> found = new ArrayList<>();
        ConnectionContext nats = connections.getConnectionContext();
        try {
            for (String filter : layout.familyFilters()) {
                for (Subject s : nats.jsm.getStreamInfo(layout.streamName, StreamInfoOptions.filterSubjects(filter))
                        .getStreamState().getSubjects()) {
                    if (!layout.covers(s.getName())) {
                        found.add(s.getName());
                    }
                }
            }
        } finally {
            try {
                nats.connection.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return found;
    }

    /** Runs in the coordinator thread with what {@link #findStrays} found. */
    void addStrays(List<String> found, Throwable error) {
        if (error != null) {
            LOG.warn("could not list the subjects of stream {} to look for stray subjects (tried again in {} s): {}",
                    layout.streamName, STRAY_SCAN_MS / 1000, error.toString());
            return;
        }
        List<String> unread = new ArrayList<>();
        for (String subject : found) {
            if (strays.contains(subject)) {
                continue;
            }
            if (strays.size() >= MAX_STRAY_SPLITS) {
                unread.add(subject);
                continue;
            }
            strays.add(subject);
            LOG.warn("stream {} holds messages on {}, which no partition split reads (NATS_PARTITIONS={}): reading it through a "
                    + "split of its own, its messages become dead letters; set the producers' NATS_PARTITIONS to the job's",
                    layout.streamName, subject, layout.partitions);
            enqueue(new JetStreamSplit(layout.config(subject)));
        }
        if (!unread.isEmpty()) {
            LOG.error("stream {} holds messages on {} more stray subjects than the {} this job reads ({}): they stay unread; "
                    + "fix the producers (NATS_PARTITIONS={}, subjects <family>.<partition>.<name>)", layout.streamName,
                    unread.size(), MAX_STRAY_SPLITS, unread.subList(0, Math.min(5, unread.size())), layout.partitions);
        }
        context.registeredReaders().keySet().forEach(this::assign);
    }

    /** The stray subjects that have a split (tests). */
    Set<String> strays() {
        return Set.copyOf(strays);
    }

    @Override
    public SourceEnumState snapshotState(long checkpointId) {
        return new SourceEnumState(layout.partitions, pending.stream().map(Pending::split).toList(), strays);
    }

    @Override
    public void close() {
    }
}
