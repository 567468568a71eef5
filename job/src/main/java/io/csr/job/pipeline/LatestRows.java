package io.csr.job.pipeline;

import io.csr.job.rows.VersionedRow;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns firings ({@code metric_windows} windows, {@code user_daily_metrics} user days) into rows, one per
 * {@link VersionedRow#rowKey()} and checkpoint: the latest firing of each key is kept in memory and rendered just
 * before the checkpoint barrier leaves the task ({@link #prepareSnapshotPreBarrier}), and at the end of a bounded input.
 *
 * <p>Exact: every row of a checkpoint becomes visible in ClickHouse at once, when that checkpoint's commit succeeds,
 * and both tables are ReplacingMergeTrees on {@code version}; a key's later firing has the higher version and holds
 * all the earlier one did. So the earlier firings of the same checkpoint could never be read. At 1,000 events/s the
 * minute windows fire up to 50 times a second (the live SSE cadence); rendering, shipping and inserting each of those
 * rows was a third of the checkpoint's bytes and of the window task's work.
 *
 * <p>Nothing is held across a barrier, so the operator has no state: after a restore the window operator replays
 * from its own state and fires again with higher versions.
 */
public final class LatestRows<T extends VersionedRow> extends AbstractStreamOperator<TableRow>
        implements OneInputStreamOperator<T, TableRow>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    private transient Map<String, T> latest;
    private transient StreamRecord<TableRow> reuse;

    public LatestRows() {
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    @Override
    public void open() throws Exception {
        super.open();
        latest = new LinkedHashMap<>();
        reuse = new StreamRecord<>(null);
    }

    @Override
    public void processElement(StreamRecord<T> element) {
        T firing = element.getValue();
        latest.merge(firing.rowKey(), firing, (kept, next) -> next.rowVersion() >= kept.rowVersion() ? next : kept);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        emitAll();
    }

    @Override
    public void endInput() {
        emitAll();
    }

    /** Keys whose row waits for the next barrier (tests). */
    int pending() {
        return latest.size();
    }

    private void emitAll() {
        for (T firing : latest.values()) {
            output.collect(reuse.replace(firing.toTableRow()));
        }
        latest.clear();
    }
}
