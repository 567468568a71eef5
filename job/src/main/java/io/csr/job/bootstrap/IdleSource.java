package io.csr.job.bootstrap;

import io.csr.job.model.RawMessage;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * An unbounded source that never emits. The bootstrap reads history with a bounded source and then must stay running
 * (a finished job cannot take a savepoint), so its {@code HybridSource} switches to this one after the last
 * {@code event_log} row; the job then idles until the CLI stops it with a savepoint.
 */
public final class IdleSource implements Source<RawMessage, IdleSource.NoSplit, Integer> {
    private static final long serialVersionUID = 1L;
    /**
     * Readers created so far in this JVM. The HybridSource creates one per subtask only after the history source's
     * reader on that subtask emitted its last record, so once every subtask has one, a savepoint barrier follows all
     * history (the embedded bootstrap runs in the CLI's JVM and watches this).
     */
    static final java.util.concurrent.atomic.AtomicInteger READERS = new java.util.concurrent.atomic.AtomicInteger();

    /** The split type: there are none. */
    public static final class NoSplit implements SourceSplit {
        @Override
        public String splitId() {
            return "none";
        }
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<RawMessage, NoSplit> createReader(SourceReaderContext context) {
        READERS.incrementAndGet();
        return new SourceReader<>() {
            private final CompletableFuture<Void> never = new CompletableFuture<>();

            @Override
            public void start() {
            }

            @Override
            public InputStatus pollNext(ReaderOutput<RawMessage> output) {
                return InputStatus.NOTHING_AVAILABLE;
            }

            @Override
            public List<NoSplit> snapshotState(long checkpointId) {
                return List.of();
            }

            @Override
            public CompletableFuture<Void> isAvailable() {
                return never;
            }

            @Override
            public void addSplits(List<NoSplit> splits) {
            }

            @Override
            public void notifyNoMoreSplits() {
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public SplitEnumerator<NoSplit, Integer> createEnumerator(SplitEnumeratorContext<NoSplit> context) {
        return new SplitEnumerator<>() {
            @Override
            public void start() {
            }

            @Override
            public void handleSplitRequest(int subtaskId, String requesterHostname) {
            }

            @Override
            public void addSplitsBack(List<NoSplit> splits, int subtaskId) {
            }

            @Override
            public void addReader(int subtaskId) {
            }

            @Override
            public Integer snapshotState(long checkpointId) {
                return 0;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public SplitEnumerator<NoSplit, Integer> restoreEnumerator(SplitEnumeratorContext<NoSplit> context, Integer checkpoint) {
        return createEnumerator(context);
    }

    @Override
    public SimpleVersionedSerializer<NoSplit> getSplitSerializer() {
        return stateless(NoSplit::new);
    }

    @Override
    public SimpleVersionedSerializer<Integer> getEnumeratorCheckpointSerializer() {
        return stateless(() -> 0);
    }

    /** Writes no bytes and reads back what {@code read} gives: for splits and checkpoints that carry no state. */
    private static <T> SimpleVersionedSerializer<T> stateless(Supplier<T> read) {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(T value) {
                return new byte[0];
            }

            @Override
            public T deserialize(int version, byte[] serialized) {
                return read.get();
            }
        };
    }
}
