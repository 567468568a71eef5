package io.csr.job.source;

import io.csr.job.model.RawMessage;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Removes the configured NATS_SUBJECT_PREFIX (e.g. {@code it_ab12.}) so validation sees Contract 1 subjects such as
 * {@code metrics.sroi}. A subject outside the prefix is kept whole (validation then rejects it). Stateless.
 */
public final class StripSubjectPrefix implements MapFunction<RawMessage, RawMessage> {
    private static final long serialVersionUID = 1L;

    private final String prefix;

    public StripSubjectPrefix(String prefix) {
        this.prefix = prefix == null ? "" : prefix;
    }

    @Override
    public RawMessage map(RawMessage message) {
        if (!prefix.isEmpty() && message.subject != null && message.subject.startsWith(prefix)) {
            message.subject = message.subject.substring(prefix.length());
        }
        return message;
    }
}
