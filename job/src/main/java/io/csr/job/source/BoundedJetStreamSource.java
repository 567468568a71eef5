package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.synadia.flink.source.JetStreamSource;
import io.synadia.flink.source.split.JetStreamSplit;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.runtime.execution.SuppressRestartsException;

import java.util.Set;

/**
 * The connector's {@link JetStreamSource} splits (and their checkpoint format, unchanged) cut as {@link SplitLayout}
 * says, handed out by {@link PartitionedSplitEnumerator}, and read by a reader of our own, {@link BoundedJetStreamReader}, that holds at most a bounded number of fetched messages. The connector's
 * reader consumes with jnats's {@code consume()}, which pulls again as soon as messages reach the client, not when
 * the job has taken them: from a backlog it read ~250,000 messages ahead into the heap (measured), and a long enough
 * backlog would run a task manager out of memory.
 */
public final class BoundedJetStreamSource implements Source<RawMessage, JetStreamSplit, SourceEnumState>,
        ResultTypeQueryable<RawMessage> {
    private static final long serialVersionUID = 1L;

    private final JetStreamSource<RawMessage> connector;
    private final SplitLayout layout;
    private final int fetchBatch;

    /**
     * @param connector  the connector's source: its connection factory, converter and split serializer
     * @param layout     the splits to read (NoAck subject configurations only)
     * @param fetchBatch messages per pull, per split; also what each split may hold fetched but not yet taken
     */
    BoundedJetStreamSource(JetStreamSource<RawMessage> connector, SplitLayout layout, int fetchBatch) {
        this.connector = connector;
        this.layout = layout;
        this.fetchBatch = fetchBatch;
    }

    /** How many source readers get a split; more subtasks than this would idle. */
    public int splitCount() {
        return layout.splitCount();
    }

    @Override
    public Boundedness getBoundedness() {
        return connector.getBoundedness();
    }

    @Override
    public SplitEnumerator<JetStreamSplit, SourceEnumState> createEnumerator(SplitEnumeratorContext<JetStreamSplit> context) {
        return new PartitionedSplitEnumerator(context, layout, connector.connectionFactory, layout.splits(), Set.of());
    }

    /**
     * Restores the enumerator, refusing a checkpoint whose splits were cut for another partition count: readers bring
     * back the splits they held (each with its stream position), so with another {@code NATS_PARTITIONS} some
     * partitions would be read by nobody (more partitions) or by the old splits regardless (fewer).
     */
    @Override
    public SplitEnumerator<JetStreamSplit, SourceEnumState> restoreEnumerator(
            SplitEnumeratorContext<JetStreamSplit> context, SourceEnumState checkpoint) {
        if (checkpoint.partitions() != layout.partitions) {
            // refused when the enumerator starts, not here: a restore runs before the scheduler has started, and a
            // failure raised then was lost under load (the job neither failed nor ran); one raised from start() goes
            // through the coordinator's event loop into a global failure, which SuppressRestartsException makes final
            return new Refusal(partitionsChanged(checkpoint.partitions(), layout.partitions));
        }
        return new PartitionedSplitEnumerator(context, layout, connector.connectionFactory, checkpoint.unassigned(), checkpoint.strays());
    }

    /** The enumerator of a refused restore: fails the job for good as soon as it starts, naming the fix. */
    record Refusal(String reason) implements SplitEnumerator<JetStreamSplit, SourceEnumState> {
        @Override
        public void start() {
            throw new SuppressRestartsException(new IllegalStateException(reason));
        }

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
        }

        @Override
        public void addSplitsBack(java.util.List<JetStreamSplit> splits, int subtaskId) {
        }

        @Override
        public void addReader(int subtaskId) {
        }

        @Override
        public SourceEnumState snapshotState(long checkpointId) {
            throw new IllegalStateException(reason);
        }

        @Override
        public void close() {
        }
    }

    static String partitionsChanged(int restored, int configured) {
        return "the checkpoint or savepoint being restored was written with NATS_PARTITIONS=" + restored + " but this job has "
                + "NATS_PARTITIONS=" + configured + ": the NATS source's splits (one per subject family and partition, each with "
                + "its stream position) are part of that state and cannot be cut again. Set NATS_PARTITIONS=" + restored
                + " to resume from it; a new partition count needs a deployment that starts without this state "
                + "(docs/scaling.md, \"NATS: partitioned subjects\")";
    }

    @Override
    public SimpleVersionedSerializer<JetStreamSplit> getSplitSerializer() {
        return connector.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<SourceEnumState> getEnumeratorCheckpointSerializer() {
        return new SourceEnumState.Serializer();
    }

    @Override
    public SourceReader<RawMessage, JetStreamSplit> createReader(SourceReaderContext context) {
        return new BoundedJetStreamReader(connector.connectionFactory, connector.sourceConverter, fetchBatch);
    }

    @Override
    public TypeInformation<RawMessage> getProducedType() {
        return connector.getProducedType();
    }
}
