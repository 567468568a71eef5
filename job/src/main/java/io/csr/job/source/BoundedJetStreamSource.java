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

import java.util.Collection;

/**
 * The connector's {@link JetStreamSource} (its splits, enumerator and checkpoint format, unchanged) with a reader of
 * our own, {@link BoundedJetStreamReader}, that holds at most a bounded number of fetched messages. The connector's
 * reader consumes with jnats's {@code consume()}, which pulls again as soon as messages reach the client, not when
 * the job has taken them: from a backlog it read ~250,000 messages ahead into the heap (measured), and a long enough
 * backlog would run a task manager out of memory.
 */
public final class BoundedJetStreamSource implements Source<RawMessage, JetStreamSplit, Collection<JetStreamSplit>>,
        ResultTypeQueryable<RawMessage> {
    private static final long serialVersionUID = 1L;

    private final JetStreamSource<RawMessage> connector;
    private final int fetchBatch;

    /**
     * @param connector  the source whose splits this one reads (NoAck subject configurations only)
     * @param fetchBatch messages per pull, per split; also what each split may hold fetched but not yet taken
     */
    public BoundedJetStreamSource(JetStreamSource<RawMessage> connector, int fetchBatch) {
        this.connector = connector;
        this.fetchBatch = fetchBatch;
    }

    @Override
    public Boundedness getBoundedness() {
        return connector.getBoundedness();
    }

    @Override
    public SplitEnumerator<JetStreamSplit, Collection<JetStreamSplit>> createEnumerator(
            SplitEnumeratorContext<JetStreamSplit> context) throws Exception {
        return connector.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<JetStreamSplit, Collection<JetStreamSplit>> restoreEnumerator(
            SplitEnumeratorContext<JetStreamSplit> context, Collection<JetStreamSplit> checkpoint) throws Exception {
        return connector.restoreEnumerator(context, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<JetStreamSplit> getSplitSerializer() {
        return connector.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<Collection<JetStreamSplit>> getEnumeratorCheckpointSerializer() {
        return connector.getEnumeratorCheckpointSerializer();
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
