package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.nats.client.BaseConsumerContext;
import io.nats.client.Connection;
import io.nats.client.FetchConsumeOptions;
import io.nats.client.FetchConsumer;
import io.nats.client.Message;
import io.nats.client.StreamContext;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.synadia.flink.message.SourceConverter;
import io.synadia.flink.source.AckBehavior;
import io.synadia.flink.source.JetStreamSubjectConfiguration;
import io.synadia.flink.source.split.JetStreamSplit;
import io.synadia.flink.source.split.JetStreamSplitMessage;
import io.synadia.flink.utils.ConnectionContext;
import io.synadia.flink.utils.ConnectionFactory;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.connector.base.source.reader.synchronization.FutureCompletingBlockingQueue;
import org.apache.flink.core.io.InputStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Reads each split (one subject family) through an ordered consumer, like the connector's reader, but by explicit
 * pulls: a thread per split fetches {@code fetchBatch} messages, hands them over through a queue of that capacity,
 * and pulls again only when the batch is done. So at most about two batches per split are in this JVM whatever the
 * backlog, where jnats's {@code consume()} pulls again as soon as messages arrive. Positions are the connector's:
 * each split's last emitted stream sequence, in its checkpoint format; on restore the ordered consumer starts after it.
 *
 * <p><b>Stream time.</b> Every record carries its JetStream timestamp (when the server stored it) as its Flink
 * timestamp, and the reader emits watermarks in the same clock: a watermark {@code W} says that every message stored
 * before {@code W} has been emitted. Per split that is the timestamp of the last message emitted (the stream's order is
 * its timestamps' order), or, once a pull came back short (so the server had handed over everything it held), the end
 * of that pull less {@link #CLOCK_SKEW_MARGIN_MS}; the reader's watermark is the least over its splits. Downstream,
 * Flink takes the least over every input channel, so an operator that has seen watermark {@code W} has received every
 * message stored before {@code W}, whichever shuffle path it took. The window operator uses this to judge a key's
 * events in stream order although a keyBy interleaves them from several channels, and to measure a key's silence in
 * stream time, so neither a job's downtime nor a backlog it is still reading counts as silence.
 */
final class BoundedJetStreamReader implements SourceReader<RawMessage, JetStreamSplit> {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedJetStreamReader.class);
    /** How long one pull waits for messages before the next one is sent (a quiet stream costs one pull per this). */
    static final long FETCH_EXPIRES_MS = 1_000;
    /**
     * How far behind the end of a short pull a split's watermark stays: room for a message stored just before the
     * pull ended to still be on its way, and for the NATS server's clock to be behind this machine's.
     */
    static final long CLOCK_SKEW_MARGIN_MS = 1_000;
    /** Watermarks are broadcast to every downstream channel: at most one per this, and one whenever the reader idles. */
    static final long WATERMARK_INTERVAL_MS = 200;

    private final ConnectionFactory connectionFactory;
    private final SourceConverter<RawMessage> converter;
    private final int fetchBatch;
    private final FutureCompletingBlockingQueue<JetStreamSplitMessage> queue;
    private final Map<String, Fetcher> fetchers = new LinkedHashMap<>();
    private ConnectionContext connection;
    private volatile Throwable failure;
    private long watermark = Long.MIN_VALUE;
    private long watermarkEmittedAt;
    /** The enumerator said this reader gets no split: it marks itself idle rather than hold every clock back. */
    private boolean noSplits;

    BoundedJetStreamReader(ConnectionFactory connectionFactory, SourceConverter<RawMessage> converter, int fetchBatch) {
        this.connectionFactory = connectionFactory;
        this.converter = converter;
        this.fetchBatch = fetchBatch;
        this.queue = new FutureCompletingBlockingQueue<>(fetchBatch);
    }

    @Override
    public void start() {
        connection();
    }

    /** Connects on first use: on a restore Flink hands the reader its splits before it calls {@link #start}. */
    private ConnectionContext connection() {
        if (connection == null) {
            try {
                connection = connectionFactory.getConnectionContext();
            } catch (Exception e) {
                throw new IllegalStateException("cannot connect to NATS: " + e.getMessage(), e);
            }
        }
        return connection;
    }

    @Override
    public InputStatus pollNext(ReaderOutput<RawMessage> output) throws Exception {
        if (noSplits && fetchers.isEmpty()) {
            output.markIdle();
            return InputStatus.NOTHING_AVAILABLE;
        }
        JetStreamSplitMessage sm = queue.poll();
        if (sm == null) {
            Throwable f = failure;
            if (f != null) {
                throw new IllegalStateException("reading JetStream failed: " + f.getMessage(), f);
            }
            emitWatermark(output, true);
            return InputStatus.NOTHING_AVAILABLE;
        }
        RawMessage raw = converter.convert(sm.message);
        output.collect(raw, raw.receivedAtMs);
        Fetcher fetcher = fetchers.get(sm.splitId);
        fetcher.split.markEmitted(sm.message);
        fetcher.emitted++;
        fetcher.lastEmittedStamp = Math.max(fetcher.lastEmittedStamp, raw.receivedAtMs);
        // a fetcher that failed while messages were still queued woke nobody (the queue was available then): once they
        // are emitted the queue turns unavailable, and the task, waiting on it, would checkpoint on and read nothing for
        // ever (seen in ReplicatedPipelineITCase at load average 43, a JetStream fetch timing out); the next poll reports it
        boolean more = queue.getAvailabilityFuture() == FutureCompletingBlockingQueue.AVAILABLE || failure != null;
        emitWatermark(output, !more);
        return more ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
    }

    /** Emits the stream-time watermark when it moved, at most every {@link #WATERMARK_INTERVAL_MS} unless idling. */
    private void emitWatermark(ReaderOutput<RawMessage> output, boolean idling) {
        long now = System.currentTimeMillis();
        if (!idling && now - watermarkEmittedAt < WATERMARK_INTERVAL_MS) {
            return;
        }
        long w = watermark();
        if (w > watermark) {
            watermark = w;
            watermarkEmittedAt = now;
            output.emitWatermark(new Watermark(w));
        }
    }

    /**
     * The least over this reader's splits of the stream time before which every message has been emitted: a split
     * with messages handed over but not yet emitted is at its last emitted message; otherwise at its fetcher's
     * horizon. No split yet: {@code Long.MIN_VALUE} (a reader that gets none marks itself idle).
     */
    long watermark() {
        if (fetchers.isEmpty()) {
            return Long.MIN_VALUE;
        }
        long w = Long.MAX_VALUE;
        for (Fetcher f : fetchers.values()) {
            long horizon = f.horizon; // read before handed: a horizon is published only after its message was counted
            long split = f.handed == f.emitted ? horizon : f.lastEmittedStamp;
            w = Math.min(w, split == Long.MIN_VALUE ? Long.MIN_VALUE : split - 1);
        }
        return w;
    }

    @Override
    public List<JetStreamSplit> snapshotState(long checkpointId) {
        List<JetStreamSplit> splits = new ArrayList<>(fetchers.size());
        for (Fetcher f : fetchers.values()) {
            splits.add(f.split);
        }
        return splits;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
        return queue.getAvailabilityFuture();
    }

    @Override
    public void addSplits(List<JetStreamSplit> splits) {
        for (JetStreamSplit split : splits) {
            if (fetchers.containsKey(split.splitId()) || split.finished.get()) {
                continue;
            }
            if (split.subjectConfig.ackBehavior != AckBehavior.NoAck) {
                throw new IllegalArgumentException("split " + split.splitId() + " asks for " + split.subjectConfig.ackBehavior
                        + "; this reader keeps positions in Flink checkpoints and reads with NoAck only");
            }
            try {
                StreamContext stream = connection().js.getStreamContext(split.subjectConfig.streamName);
                Fetcher fetcher = new Fetcher(split, stream.createOrderedConsumer(orderedConfig(split)), fetchers.size());
                fetchers.put(split.splitId(), fetcher);
                fetcher.start();
            } catch (Exception e) {
                throw new IllegalStateException("cannot create a consumer for " + split.subjectConfig.subject + " on stream "
                        + split.subjectConfig.streamName + ": " + e.getMessage(), e);
            }
        }
    }

    /** As the connector: after the last emitted sequence when there is one, else the configured deliver policy. */
    static OrderedConsumerConfiguration orderedConfig(JetStreamSplit split) {
        JetStreamSubjectConfiguration c = split.subjectConfig;
        OrderedConsumerConfiguration config = new OrderedConsumerConfiguration().filterSubject(c.subject);
        long lastSeq = split.lastEmittedStreamSequence.get();
        if (lastSeq > 0) {
            config.deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(lastSeq + 1);
        } else {
            config.deliverPolicy(c.deliverPolicy);
            if (c.deliverPolicy == DeliverPolicy.ByStartSequence) {
                config.startSequence(c.startSequence);
            } else if (c.deliverPolicy == DeliverPolicy.ByStartTime) {
                config.startTime(c.startTime);
            }
        }
        return config;
    }

    /**
     * More readers than subject families: the enumerator gives this one none. Downstream operators take the least
     * watermark over their inputs, so a reader that never emitted one would hold every key's clock at its start; it
     * marks itself idle instead (at the next poll, which this wakes).
     */
    @Override
    public void notifyNoMoreSplits() {
        if (fetchers.isEmpty()) {
            noSplits = true;
            queue.notifyAvailable();
        }
    }

    @Override
    public void close() throws Exception {
        for (Fetcher f : fetchers.values()) {
            f.running = false;
            f.interrupt();
        }
        for (Fetcher f : fetchers.values()) {
            f.join(10_000);
        }
        if (connection != null) {
            connection.connection.close();
        }
    }

    /** Pulls one split's messages, one batch at a time, into the shared queue. */
    private final class Fetcher extends Thread {
        final JetStreamSplit split;
        private final BaseConsumerContext consumer;
        private final int index;
        volatile boolean running = true;
        /** Messages put into the queue; counted before the put, so a message on its way is never missed. */
        volatile long handed;
        /** Every message of this split stored (JetStream timestamp) before this has been handed over. */
        volatile long horizon = Long.MIN_VALUE;
        /** Task thread only: messages emitted, and the highest JetStream timestamp among them. */
        long emitted;
        long lastEmittedStamp = Long.MIN_VALUE;

        Fetcher(JetStreamSplit split, BaseConsumerContext consumer, int index) {
            super("jetstream-fetch " + split.subjectConfig.subject);
            setDaemon(true);
            this.split = split;
            this.consumer = consumer;
            this.index = index;
        }

        @Override
        public void run() {
            FetchConsumeOptions options = FetchConsumeOptions.builder().maxMessages(fetchBatch).expiresIn(FETCH_EXPIRES_MS).build();
            Connection nats = connection().connection;
            try {
                while (running) {
                    long reconnects = nats.getStatistics().getReconnects();
                    int received = 0;
                    try (FetchConsumer fetch = consumer.fetch(options)) {
                        // nextMessage() answers null also when a wait times out before the pull is over; only a
                        // finished pull lets an ordered consumer start the next one
                        while (running && !fetch.isFinished()) {
                            if (nats.getStatus() != Connection.Status.CONNECTED) {
                                throw new IllegalStateException(lostConnection(nats));
                            }
                            Message m = fetch.nextMessage();
                            if (m != null) {
                                received++;
                                long stamp = m.metaData().timestamp().toInstant().toEpochMilli();
                                handed++;
                                queue.put(index, new JetStreamSplitMessage(split.splitId(), m)); // waits while full
                                // the stream's order is its timestamps' order: everything stored before this is handed
                                horizon = Math.max(horizon, stamp);
                            }
                        }
                    }
                    if (received < fetchBatch && nats.getStatus() == Connection.Status.CONNECTED
                            && nats.getStatistics().getReconnects() == reconnects) {
                        // a short pull: the server handed over everything stored until it ended
                        horizon = Math.max(horizon, System.currentTimeMillis() - CLOCK_SKEW_MARGIN_MS);
                        queue.notifyAvailable(); // let an idle task emit the watermark
                    }
                }
            } catch (Throwable e) { // an interrupt while running too; after close() it is the way out
                if (running) {
                    fail(e);
                }
            }
        }

        /**
         * The connector's connections never reconnect ({@code maxReconnects(0)}): when the server goes away (a NATS
         * restart) the connection is closed for good, and a pull that was waiting neither finishes nor fails —
         * {@code nextMessage()} answers null forever, and the job checkpointed on while reading nothing (found by
         * {@code csr soak}, issue 26; JetStreamReaderNatsRestartITCase). A lost connection therefore fails the task,
         * which restarts from its last checkpoint with a new connection once NATS answers again.
         */
        private String lostConnection(Connection nats) {
            return "the NATS connection is " + nats.getStatus() + " (the server went away; the connector's connections do not "
                    + "reconnect): the task fails over and resumes from its last checkpoint";
        }

        private void fail(Throwable e) {
            LOG.error("JetStream fetch for {} failed; the task fails over and resumes from its last checkpoint",
                    split.subjectConfig.subject, e);
            failure = e;
            queue.notifyAvailable(); // wake the task so that pollNext reports it
        }
    }
}
