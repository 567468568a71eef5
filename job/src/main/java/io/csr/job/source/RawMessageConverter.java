package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.nats.client.Message;
import io.nats.client.impl.NatsJetStreamMetaData;
import io.synadia.flink.message.SourceConverter;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Turns a JetStream message into a {@link RawMessage}: stream name, subject, stream sequence, JetStream's own timestamp
 * and the payload bytes untouched (validation happens downstream, so a malformed body still reaches the dead-letter
 * table with its sequence). The connector re-creates converters from their class name (no-arg constructor, any
 * instance state is dropped), so the subject prefix is removed by {@link StripSubjectPrefix} right after the source.
 */
public final class RawMessageConverter implements SourceConverter<RawMessage> {
    private static final long serialVersionUID = 1L;

    public RawMessageConverter() {
    }

    @Override
    public RawMessage convert(Message message) {
        NatsJetStreamMetaData meta = message.metaData();
        return new RawMessage(meta.getStream(), message.getSubject(), meta.streamSequence(),
                meta.timestamp().toInstant().toEpochMilli(), message.getData() == null ? new byte[0] : message.getData());
    }

    @Override
    public TypeInformation<RawMessage> getProducedType() {
        return TypeInformation.of(RawMessage.class);
    }
}
