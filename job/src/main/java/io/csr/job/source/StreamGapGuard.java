package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.rows.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StreamInfo;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * No silent gap when the stream aged out. The source resumes each subject family at the sequence after the last one
 * it read; if JetStream dropped messages since then ({@code max_age} or {@code max_bytes} passed while the job was
 * down, or someone purged the stream), the ordered consumer would quietly start at the first message still there.
 * This operator remembers the highest sequence read per family (operator state), and on a restore compares it with
 * the stream's first sequence. A gap is logged as an error, counted ({@code streamGapMessages}) and, by default,
 * stops the job for good (no restart loop) until the operator confirms with {@code ACCEPT_STREAM_GAP=true}
 * ({@code bin/csr run job --accept-stream-gap}); then the job continues and writes one {@code dead_letters} row per
 * family naming the lost range, so the loss stays on record.
 *
 * <p>Conservative by design: the stream's sequence numbers are shared by all families, so a family whose last message
 * aged out while it was quiet is reported too — the messages in that range may all have belonged to other families,
 * which the guard cannot know once they are gone.
 */
public class StreamGapGuard extends ProcessFunction<RawMessage, RawMessage> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(StreamGapGuard.class);

    /** The dead_letters rows recording an accepted gap. */
    public static final OutputTag<TableRow> GAPS = new OutputTag<>("stream-gaps") {
    };

    private final String natsUrl;
    private final String streamName;
    private final boolean acceptGap;

    /** family → highest stream sequence read; union state so every subtask sees every family after a rescale. */
    private transient Map<String, long[]> highest;
    private transient ListState<String> highestState;
    private transient List<TableRow> pendingGapRows;
    private transient long gapMessages;

    public StreamGapGuard(String natsUrl, String streamName, boolean acceptGap) {
        this.natsUrl = natsUrl;
        this.streamName = streamName;
        this.acceptGap = acceptGap;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        highest = new TreeMap<>();
        pendingGapRows = new ArrayList<>();
        highestState = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("highest-seq", Types.STRING));
        if (!context.isRestored()) {
            return;
        }
        for (String entry : highestState.get()) {
            int eq = entry.lastIndexOf('=');
            long seq = Long.parseLong(entry.substring(eq + 1));
            highest.merge(entry.substring(0, eq), new long[] {seq}, (a, b) -> a[0] >= b[0] ? a : b);
        }
        if (highest.isEmpty()) {
            return;
        }
        long firstSeq = firstSequence();
        List<String> gaps = new ArrayList<>();
        for (Map.Entry<String, long[]> e : highest.entrySet()) {
            long from = e.getValue()[0] + 1;
            long to = firstSeq - 1;
            if (from <= to) {
                gaps.add(e.getKey() + ".> sequences " + from + ".." + to);
                gapMessages += to - from + 1;
                pendingGapRows.add(gapRow(e.getKey(), from, to, firstSeq));
            }
        }
        if (gaps.isEmpty()) {
            return;
        }
        String message = "JetStream stream " + streamName + " no longer holds messages the job had not read yet: its "
                + "first sequence is " + firstSeq + " but the restored position needs " + String.join(", ", gaps)
                + " (they aged out by max_age/max_bytes while the job was down, or the stream was purged). ";
        if (!acceptGap) {
            LOG.error(message + "The job stops instead of skipping them silently. To continue and record the gap in "
                    + "dead_letters, restart with ACCEPT_STREAM_GAP=true (bin/csr run job --accept-stream-gap); to recover "
                    + "the data, re-publish it or backfill it (bin/csr backfill).");
            throw new SuppressRestartsException(new IllegalStateException(message + "Refusing to skip them: restart "
                    + "with ACCEPT_STREAM_GAP=true to continue and record the gap in dead_letters."));
        }
        LOG.error(message + "ACCEPT_STREAM_GAP=true: continuing; the gap is recorded in dead_letters.");
    }

    private long firstSequence() throws IOException, InterruptedException {
        Options options = new Options.Builder().server(natsUrl).connectionTimeout(Duration.ofSeconds(10))
                .connectionName("csr-job stream-gap-guard").noReconnect().build();
        try (Connection nats = Nats.connect(options)) {
            StreamInfo info = nats.jetStreamManagement().getStreamInfo(streamName);
            return info.getStreamState().getFirstSequence();
        } catch (JetStreamApiException e) {
            throw new IOException("cannot read stream " + streamName + " at " + natsUrl + " to check for an aged-out gap: "
                    + e.getMessage(), e);
        }
    }

    private TableRow gapRow(String family, long from, long to, long firstSeq) {
        return RowFormat.row("dead_letters", System.currentTimeMillis(), RowFormat.object()
                .put("received_at", RowFormat.dateTime(System.currentTimeMillis()))
                .put("stream", streamName)
                .put("subject", family + ".>")
                .put("stream_seq", from)
                .put("error", "stream gap: sequences " + from + ".." + to + " of " + family + ".> were gone from the stream "
                        + "(first sequence " + firstSeq + ") when the job resumed; accepted with ACCEPT_STREAM_GAP=true")
                .put("payload", ""));
    }

    @Override
    public void open(OpenContext openContext) {
        getRuntimeContext().getMetricGroup().gauge("streamGapMessages", (Gauge<Long>) () -> gapMessages);
    }

    @Override
    public void processElement(RawMessage message, Context ctx, Collector<RawMessage> out) {
        if (!pendingGapRows.isEmpty()) {
            // every subtask that sees traffic writes them (only some read a split); the rows share their key
            // (stream, stream_seq), so dead_letters FINAL holds each gap once
            pendingGapRows.forEach(row -> ctx.output(GAPS, row));
            pendingGapRows.clear();
        }
        String subject = message.subject == null ? "" : message.subject;
        int dot = subject.indexOf('.');
        String family = dot < 0 ? subject : subject.substring(0, dot);
        long[] seen = highest.get(family);
        if (seen == null) {
            highest.put(family, new long[] {message.streamSeq});
        } else if (message.streamSeq > seen[0]) {
            seen[0] = message.streamSeq; // in place: no boxing per message
        }
        out.collect(message);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        List<String> entries = new ArrayList<>(highest.size());
        highest.forEach((family, seq) -> entries.add(family + "=" + seq[0]));
        highestState.update(entries);
    }
}
