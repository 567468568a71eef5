package io.csr.job.source;

import io.csr.job.model.RawMessage;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Chained right after the source: removes the configured NATS_SUBJECT_PREFIX (e.g. {@code it_ab12.}) so validation
 * sees Contract 1 subjects such as {@code metrics.sroi} (a subject outside the prefix is kept whole and rejected
 * downstream), and counts what comes in. Stateless.
 *
 * <p>Metrics (operator scope): {@code messagesRead} (counter, every message read from JetStream),
 * {@code ingestLagMs} (gauge, now minus the JetStream timestamp of the last message: how far the job is behind
 * the stream), {@code lastStreamSeq} (gauge, stream sequence of the last message this subtask read).
 */
public final class StripSubjectPrefix extends RichMapFunction<RawMessage, RawMessage> {
    private static final long serialVersionUID = 1L;

    private final String prefix;
    private transient Counter messagesRead;
    private transient volatile long lastReceivedAtMs;
    private transient volatile long lastStreamSeq;

    public StripSubjectPrefix(String prefix) {
        this.prefix = prefix == null ? "" : prefix;
    }

    @Override
    public void open(OpenContext openContext) {
        MetricGroup group = getRuntimeContext().getMetricGroup();
        messagesRead = group.counter("messagesRead");
        group.gauge("ingestLagMs", () -> lastReceivedAtMs == 0 ? 0L : Math.max(0L, System.currentTimeMillis() - lastReceivedAtMs));
        group.gauge("lastStreamSeq", () -> lastStreamSeq);
    }

    @Override
    public RawMessage map(RawMessage message) {
        if (messagesRead != null) {
            messagesRead.inc();
            lastReceivedAtMs = message.receivedAtMs;
            lastStreamSeq = message.streamSeq;
        }
        return strip(message);
    }

    RawMessage strip(RawMessage message) {
        if (!prefix.isEmpty() && message.subject != null && message.subject.startsWith(prefix)) {
            message.subject = message.subject.substring(prefix.length());
        }
        return message;
    }
}
