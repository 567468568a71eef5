package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.nats.client.BaseConsumerContext;
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
 */
final class BoundedJetStreamReader implements SourceReader<RawMessage, JetStreamSplit> {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedJetStreamReader.class);
    /** How long one pull waits for messages before the next one is sent (a quiet stream costs one pull per this). */
    static final long FETCH_EXPIRES_MS = 5_000;

    private final ConnectionFactory connectionFactory;
    private final SourceConverter<RawMessage> converter;
    private final int fetchBatch;
    private final FutureCompletingBlockingQueue<JetStreamSplitMessage> queue;
    private final Map<String, Fetcher> fetchers = new LinkedHashMap<>();
    private ConnectionContext connection;
    private volatile Throwable failure;

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
        JetStreamSplitMessage sm = queue.poll();
        if (sm == null) {
            Throwable f = failure;
            if (f != null) {
                throw new IllegalStateException("reading JetStream failed: " + f.getMessage(), f);
            }
            return InputStatus.NOTHING_AVAILABLE;
        }
        output.collect(converter.convert(sm.message));
        fetchers.get(sm.splitId).split.markEmitted(sm.message);
        return queue.getAvailabilityFuture() == FutureCompletingBlockingQueue.AVAILABLE
                ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE;
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

    @Override
    public void notifyNoMoreSplits() {
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
            try {
                while (running) {
                    try (FetchConsumer fetch = consumer.fetch(options)) {
                        // nextMessage() answers null also when a wait times out before the pull is over; only a
                        // finished pull lets an ordered consumer start the next one
                        while (running && !fetch.isFinished()) {
                            Message m = fetch.nextMessage();
                            if (m != null) {
                                queue.put(index, new JetStreamSplitMessage(split.splitId(), m)); // waits while full
                            }
                        }
                    }
                }
            } catch (Throwable e) { // an interrupt while running too; after close() it is the way out
                if (running) {
                    fail(e);
                }
            }
        }

        private void fail(Throwable e) {
            LOG.error("JetStream fetch for {} failed; the task fails over and resumes from its last checkpoint",
                    split.subjectConfig.subject, e);
            failure = e;
            queue.notifyAvailable(); // wake the task so that pollNext reports it
        }
    }
}
