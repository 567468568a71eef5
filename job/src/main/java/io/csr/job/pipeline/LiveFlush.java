package io.csr.job.pipeline;

import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.runtime.io.network.api.writer.ResultPartitionWriter;
import org.apache.flink.streaming.api.graph.NonChainedOutput;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.partitioner.KeyGroupStreamPartitioner;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.StreamTask;

import java.util.ArrayList;
import java.util.List;

/**
 * Sends a live record on across the next shuffle at once instead of leaving it in a part-filled network buffer until
 * Flink's buffer timeout (FLINK_BUFFER_TIMEOUT_MS, 20 ms) flushes it.
 *
 * <p>Chained as the last operator before a keyBy, it passes every record through and, after a record for which
 * {@code live} holds, flushes its task's keyed network outputs ({@link ResultPartitionWriter#flushAll()}, which
 * Flink's own output flusher thread calls too). So the timeout is paid only by what is not live: a backlog or a
 * backfill fills whole buffers as before (a short timeout for everything cost 35 % of backlog ingest at 5 ms), while
 * an event a dashboard is waiting for crosses each shuffle in microseconds. Flushes are at most one per
 * {@code minIntervalNanos} so a burst of live events still shares buffers; a record that arrives inside the interval
 * leaves with the next record's flush or the timeout, whichever comes first.
 *
 * <p>Only the task's keyed outputs are flushed (the shuffles to dedup, windows and journeys), never its forward
 * edges to the ClickHouse sink: rows wait for the checkpoint anyway, and a stream of tiny buffers there would use up
 * the sink's input buffers while it inserts a commit, stalling the live path behind it. The writers are matched to
 * outputs through the task's configuration ({@code getVertexNonChainedOutputs}, in the order Flink creates them):
 * internal Flink API, pinned by {@code LiveFlushITCase}; re-check it on a Flink upgrade.
 */
public final class LiveFlush<T> extends AbstractStreamOperator<T> implements OneInputStreamOperator<T, T> {
    private static final long serialVersionUID = 1L;

    private final FilterFunction<T> live;
    private final long minIntervalNanos;
    private transient ResultPartitionWriter[] writers;
    private transient long lastFlush;
    private transient boolean pending;

    LiveFlush(FilterFunction<T> live, long minIntervalNanos) {
        this.live = live;
        this.minIntervalNanos = minIntervalNanos;
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    /** {@code stream} followed by a chained LiveFlush named {@code name} with uid {@code uid}, at its parallelism. */
    public static <T> SingleOutputStreamOperator<T> after(DataStream<T> stream, FilterFunction<T> live, long minIntervalMs,
                                                          String name, String uid) {
        return stream.transform(name, stream.getType(), new LiveFlush<>(live, minIntervalMs * 1_000_000L))
                .uid(uid).setParallelism(stream.getParallelism());
    }

    @Override
    public void open() throws Exception {
        super.open();
        writers = keyedWriters(getContainingTask());
        lastFlush = System.nanoTime() - minIntervalNanos;
    }

    /** The writers of {@code task}'s keyBy outputs; every writer when the outputs cannot be matched up. */
    static ResultPartitionWriter[] keyedWriters(StreamTask<?, ?> task) {
        ResultPartitionWriter[] all = task.getEnvironment().getAllWriters();
        List<NonChainedOutput> outputs = task.getConfiguration()
                .getVertexNonChainedOutputs(task.getEnvironment().getUserCodeClassLoader().asClassLoader());
        if (outputs.size() != all.length) {
            return all;
        }
        List<ResultPartitionWriter> keyed = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            if (outputs.get(i).getPartitioner() instanceof KeyGroupStreamPartitioner) {
                keyed.add(all[i]);
            }
        }
        return keyed.toArray(ResultPartitionWriter[]::new);
    }

    @Override
    public void processElement(StreamRecord<T> element) throws Exception {
        output.collect(element);
        if (pending || live.filter(element.getValue())) {
            long now = System.nanoTime();
            if (now - lastFlush >= minIntervalNanos) {
                for (ResultPartitionWriter writer : writers) {
                    writer.flushAll();
                }
                lastFlush = now;
                pending = false;
            } else {
                pending = true;
            }
        }
    }
}
