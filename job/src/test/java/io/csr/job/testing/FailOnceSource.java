package io.csr.job.testing;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Wraps a source so that one reader throws once, mid-run: after at least one checkpoint completed and after it
 * polled {@code afterPolls} times. A marker file (the TaskManagers run on this machine) makes it fail only once across
 * restarts and processes. Everything else is delegated, so positions and splits are the real source's.
 */
public final class FailOnceSource<T, S extends SourceSplit, E> implements Source<T, S, E>, ResultTypeQueryable<T> {
    private static final long serialVersionUID = 1L;

    private final Source<T, S, E> delegate;
    private final String marker;
    private final long afterPolls;

    public FailOnceSource(Source<T, S, E> delegate, Path marker, long afterPolls) {
        this.delegate = delegate;
        this.marker = marker.toString();
        this.afterPolls = afterPolls;
    }

    @Override
    public Boundedness getBoundedness() {
        return delegate.getBoundedness();
    }

    @Override
    public SplitEnumerator<S, E> createEnumerator(SplitEnumeratorContext<S> context) throws Exception {
        return delegate.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<S, E> restoreEnumerator(SplitEnumeratorContext<S> context, E checkpoint) throws Exception {
        return delegate.restoreEnumerator(context, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<S> getSplitSerializer() {
        return delegate.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<E> getEnumeratorCheckpointSerializer() {
        return delegate.getEnumeratorCheckpointSerializer();
    }

    @Override
    public SourceReader<T, S> createReader(SourceReaderContext context) throws Exception {
        return new Reader<>(delegate.createReader(context), Path.of(marker), afterPolls);
    }

    @SuppressWarnings("unchecked")
    @Override
    public TypeInformation<T> getProducedType() {
        return ((ResultTypeQueryable<T>) delegate).getProducedType();
    }

    private static final class Reader<T, S extends SourceSplit> implements SourceReader<T, S> {
        private final SourceReader<T, S> delegate;
        private final Path marker;
        private final long afterPolls;
        private long polls;
        private long checkpointsCompleted;

        Reader(SourceReader<T, S> delegate, Path marker, long afterPolls) {
            this.delegate = delegate;
            this.marker = marker;
            this.afterPolls = afterPolls;
        }

        @Override
        public void start() {
            delegate.start();
        }

        @Override
        public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
            if (++polls >= afterPolls && checkpointsCompleted > 0 && !Files.exists(marker)) {
                try {
                    Files.createFile(marker);
                } catch (IOException e) {
                    return delegate.pollNext(output); // another subtask failed first
                }
                throw new IllegalStateException("injected failure after " + polls + " polls and " + checkpointsCompleted
                        + " completed checkpoints (FailOnceSource, test fault injection)");
            }
            return delegate.pollNext(output);
        }

        @Override
        public List<S> snapshotState(long checkpointId) {
            return delegate.snapshotState(checkpointId);
        }

        @Override
        public CompletableFuture<Void> isAvailable() {
            return delegate.isAvailable();
        }

        @Override
        public void addSplits(List<S> splits) {
            delegate.addSplits(splits);
        }

        @Override
        public void notifyNoMoreSplits() {
            delegate.notifyNoMoreSplits();
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            checkpointsCompleted++;
            delegate.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void close() throws Exception {
            delegate.close();
        }
    }
}
