package io.csr.job.validate;

import io.csr.common.contract.EventSubjects;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.RawMessage;
import io.csr.job.rows.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Contract 1 validation: a {@link RawMessage} becomes a {@link CsrEvent}, or a {@code dead_letters} row (side output
 * {@link #DEAD_LETTERS}) whose {@code error} names the field, the offending value and the rule. Never throws on bad
 * input, so a malformed message cannot fail the job. The rules themselves live in {@link EventParser}.
 */
public class EventValidator extends ProcessFunction<RawMessage, CsrEvent> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<TableRow> DEAD_LETTERS = new OutputTag<>("dead-letters") {
    };

    private final int partitions;
    private transient EventParser parser;
    private transient Counter eventsIn;
    private transient Counter eventsValid;
    private transient Counter eventsInvalid;

    /** Any partition token below {@link EventSubjects#MAX_PARTITIONS} (history from event_log). */
    public EventValidator() {
        this(EventSubjects.MAX_PARTITIONS);
    }

    /** Partition tokens {@code 0 .. partitions - 1} only ({@code NATS_PARTITIONS}); others become dead letters. */
    public EventValidator(int partitions) {
        this.partitions = EventSubjects.requirePartitions(partitions);
    }

    @Override
    public void open(OpenContext openContext) {
        parser = new EventParser(partitions);
        eventsIn = getRuntimeContext().getMetricGroup().counter("eventsIn");
        eventsValid = getRuntimeContext().getMetricGroup().counter("eventsValid");
        eventsInvalid = getRuntimeContext().getMetricGroup().counter("eventsInvalid");
    }

    @Override
    public void processElement(RawMessage message, Context ctx, Collector<CsrEvent> out) {
        eventsIn.inc();
        EventParser.Result result = parser.parse(message);
        if (result.event() != null) {
            eventsValid.inc();
            out.collect(result.event());
        } else {
            eventsInvalid.inc();
            ctx.output(DEAD_LETTERS, deadLetterRow(message, result.error(), result.payloadText()));
        }
    }

    /** The {@code dead_letters} row: received_at is JetStream's timestamp, so a replay writes the same row. */
    static TableRow deadLetterRow(RawMessage message, String error, String payloadText) {
        return RowFormat.row("dead_letters", Math.max(0L, message.receivedAtMs), RowFormat.object()
                .put("received_at", RowFormat.dateTime(Math.max(0L, message.receivedAtMs)))
                .put("stream", message.stream == null ? "" : message.stream)
                .put("subject", message.subject == null ? "" : message.subject)
                .put("stream_seq", Math.max(0L, message.streamSeq))
                .put("error", error)
                .put("payload", payloadText));
    }
}
