package io.csr.job.source;

import io.csr.job.model.RawMessage;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;

import java.util.List;

/** Reader outputs for driving a {@code SourceReader} by hand in the reader tests. */
final class ReaderOutputs {
    private ReaderOutputs() {
    }

    /** A reader output with a single output for every split, ignoring what the test does not look at. */
    interface OneOutput extends ReaderOutput<RawMessage> {
        @Override
        default void emitWatermark(Watermark watermark) {
        }

        @Override
        default void markIdle() {
        }

        @Override
        default void markActive() {
        }

        @Override
        default SourceOutput<RawMessage> createOutputForSplit(String splitId) {
            return this;
        }

        @Override
        default void releaseOutputForSplit(String splitId) {
        }
    }

    /** Collects the stream sequence of every message read, in order. */
    record Collect(List<Long> sequences) implements OneOutput {
        @Override
        public void collect(RawMessage record) {
            sequences.add(record.streamSeq);
        }

        @Override
        public void collect(RawMessage record, long timestamp) {
            collect(record);
        }
    }
}
