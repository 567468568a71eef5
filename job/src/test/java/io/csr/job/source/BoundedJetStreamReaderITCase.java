package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.testing.TestStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.synadia.flink.source.JetStreamSource;
import io.synadia.flink.source.split.JetStreamSplit;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's JetStream reader against a real NATS server: from a backlog it reads at most about two pull batches ahead
 * per split however long the job takes (the connector's consume() read the whole backlog into the heap), then delivers
 * every message once, in stream order, also after its pulls expired while it waited (the job slower than a pull's
 * lifetime, or the stream quiet for longer than one), and a reader restored from its snapshot goes on after the last
 * one emitted.
 */
class BoundedJetStreamReaderITCase {
    private static final int BATCH = 100;
    private static final int MESSAGES = 6_000;

    @Test
    void readsABacklogBoundedInOrderAndResumesAfterItsSnapshot() throws Exception {
        try (TestStream stream = new TestStream()) {
            List<CompletableFuture<?>> acks = new ArrayList<>();
            for (int i = 0; i < MESSAGES; i++) {
                acks.add(stream.publishAsync("metrics.sroi", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8)));
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

            EventSourceBuilder builder = new EventSourceBuilder().natsUrl(TestStream.NATS_URL).streamName(stream.stream)
                    .subjectPrefix(stream.prefix).batchSize(BATCH).families(List.of("metrics"));
            BoundedJetStreamSource source = builder.build();
            JetStreamSource<RawMessage> connector = builder.connectorSource();
            List<JetStreamSplit> splits = new ArrayList<>();
            connector.configById.values().forEach(c -> splits.add(new JetStreamSplit(c)));

            List<Long> sequences = new ArrayList<>();
            List<JetStreamSplit> snapshot;
            try (SourceReader<RawMessage, JetStreamSplit> reader = source.createReader(null)) {
                reader.start();
                reader.addSplits(splits);
                // the reader fills its queue and its one outstanding pull, then waits for the job
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                long delivered = 0;
                while (System.nanoTime() < deadline) {
                    long before = delivered;
                    Thread.sleep(500); // no condition to await: this checks that nothing more arrives
                    delivered = deliveredStreamSeq(stream);
                    if (delivered > 0 && delivered == before) {
                        break;
                    }
                }
                assertThat(delivered).as("messages the server sent before the job took any").isPositive()
                        .isLessThanOrEqualTo(3L * BATCH);
                // a job slower than one pull's lifetime: the pull expires while the reader waits to hand over
                Thread.sleep(BoundedJetStreamReader.FETCH_EXPIRES_MS + 1_000);
                assertThat(deliveredStreamSeq(stream)).isLessThanOrEqualTo(3L * BATCH);

                drain(reader, sequences, MESSAGES / 2);
                snapshot = reader.snapshotState(1);
            }
            assertThat(snapshot).hasSize(1);
            assertThat(snapshot.get(0).lastEmittedStreamSequence.get()).isEqualTo(sequences.get(sequences.size() - 1));

            // a new reader from the snapshot: the rest, nothing twice, nothing skipped
            try (SourceReader<RawMessage, JetStreamSplit> reader = source.createReader(null)) {
                reader.addSplits(new ArrayList<>(snapshot)); // as Flink does on a restore: splits before start()
                reader.start();
                drain(reader, sequences, MESSAGES);

                // a quiet stream outlives a pull: the next pull must pick up what comes later
                Thread.sleep(BoundedJetStreamReader.FETCH_EXPIRES_MS + 1_000);
                for (int i = 0; i < 10; i++) {
                    stream.publish("metrics.sroi", "{\"late\":" + i + "}");
                }
                drain(reader, sequences, MESSAGES + 10);
            }
            assertThat(sequences).hasSize(MESSAGES + 10);
            for (int i = 0; i < MESSAGES + 10; i++) {
                assertThat(sequences.get(i)).as("message %d", i).isEqualTo(i + 1L);
            }
        }
    }

    /**
     * Stream time: each record's timestamp is its JetStream timestamp, and no watermark ever reaches the stamp of a
     * record emitted after it — from a backlog, across pulls, and for messages published while the reader idles —
     * while an idle reader's watermark still catches up with what it emitted.
     */
    @Test
    void watermarksInStreamTimeNeverPassARecordStillToCome() throws Exception {
        try (TestStream stream = new TestStream()) {
            List<CompletableFuture<?>> acks = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                acks.add(stream.publishAsync("metrics.sroi", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8)));
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            EventSourceBuilder builder = new EventSourceBuilder().natsUrl(TestStream.NATS_URL).streamName(stream.stream)
                    .subjectPrefix(stream.prefix).batchSize(BATCH).families(List.of("metrics"));
            List<JetStreamSplit> splits = new ArrayList<>();
            builder.connectorSource().configById.values().forEach(c -> splits.add(new JetStreamSplit(c)));
            StreamTime out = new StreamTime(new ArrayList<>(), new ArrayList<>());
            try (SourceReader<RawMessage, JetStreamSplit> reader = builder.build().createReader(null)) {
                reader.start();
                reader.addSplits(splits);
                pollUntil(reader, out, () -> out.stamps.size() == 2_000);
                long lastStamp = out.stamps.get(out.stamps.size() - 1);
                // idle: a short pull tells the reader it has everything, so its watermark reaches what it emitted
                pollUntil(reader, out, () -> out.highestWatermark() >= lastStamp);
                // live, one at a time, some while the reader idles between pulls
                for (int i = 0; i < 20; i++) {
                    stream.publish("metrics.sroi", "{\"live\":" + i + "}");
                    long expected = 2_001 + i;
                    pollUntil(reader, out, () -> out.records() == expected);
                    if (i % 5 == 4) {
                        long stamp = out.stamps.get(out.stamps.size() - 1);
                        pollUntil(reader, out, () -> out.highestWatermark() >= stamp);
                    }
                }
            }
            assertThat(out.stamps).allMatch(ts -> ts > 0);
            assertThat(out.violations()).as("watermarks at or above a later record's stamp").isEmpty();
            assertThat(out.watermarks()).as("watermarks emitted").hasSizeGreaterThan(1);
        }
    }

    /** More readers than subject families: a reader without a split marks itself idle instead of holding every clock. */
    @Test
    void aReaderWithoutASplitMarksItselfIdle() throws Exception {
        EventSourceBuilder builder = new EventSourceBuilder().natsUrl(TestStream.NATS_URL).streamName("unused")
                .subjectPrefix("unused.").batchSize(BATCH).families(List.of("metrics"));
        IdleProbe out = new IdleProbe(new boolean[1]);
        try (SourceReader<RawMessage, JetStreamSplit> reader = builder.build().createReader(null)) {
            assertThat(reader.pollNext(out)).isEqualTo(InputStatus.NOTHING_AVAILABLE);
            assertThat(out.idle()[0]).as("idle before the enumerator said anything").isFalse();
            reader.notifyNoMoreSplits();
            assertThat(reader.isAvailable()).as("woken to mark itself idle").isDone();
            assertThat(reader.pollNext(out)).isEqualTo(InputStatus.NOTHING_AVAILABLE);
            assertThat(out.idle()[0]).isTrue();
        }
    }

    private record IdleProbe(boolean[] idle) implements ReaderOutputs.OneOutput {
        @Override
        public void collect(RawMessage record) {
            throw new AssertionError("no split, yet a record: " + record);
        }

        @Override
        public void collect(RawMessage record, long timestamp) {
            collect(record);
        }

        @Override
        public void emitWatermark(Watermark watermark) {
            throw new AssertionError("no split, yet a watermark: " + watermark);
        }

        @Override
        public void markIdle() {
            idle[0] = true;
        }
    }

    private static void pollUntil(SourceReader<RawMessage, JetStreamSplit> reader, StreamTime out,
                                  java.util.function.BooleanSupplier done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE && !done.getAsBoolean()) {
                try {
                    reader.isAvailable().get(2, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // nothing happened for 2 s: poll again (the condition decides)
                }
            }
        }
    }

    /** Records the reader's output in order: a record's stamp, or a watermark (as {@code -1 - watermark}). */
    private record StreamTime(List<Long> stamps, List<long[]> events) implements ReaderOutputs.OneOutput {
        @Override
        public void collect(RawMessage record) {
            throw new AssertionError("a record without its stream time: " + record);
        }

        @Override
        public void collect(RawMessage record, long timestamp) {
            assertThat(timestamp).isEqualTo(record.receivedAtMs);
            stamps.add(timestamp);
            events.add(new long[] {0, timestamp});
        }

        @Override
        public void emitWatermark(Watermark watermark) {
            events.add(new long[] {1, watermark.getTimestamp()});
        }

        long records() {
            return stamps.size();
        }

        List<Long> watermarks() {
            return events.stream().filter(e -> e[0] == 1).map(e -> e[1]).toList();
        }

        long highestWatermark() {
            return watermarks().stream().mapToLong(Long::longValue).max().orElse(Long.MIN_VALUE);
        }

        /** Every (watermark, later record) pair where the record's stamp is not above the watermark. */
        List<String> violations() {
            List<String> found = new ArrayList<>();
            long highest = Long.MIN_VALUE;
            for (long[] e : events) {
                if (e[0] == 1) {
                    highest = Math.max(highest, e[1]);
                } else if (e[1] <= highest) {
                    found.add("record stamped " + e[1] + " after watermark " + highest);
                }
            }
            return found;
        }
    }

    private static long deliveredStreamSeq(TestStream stream) throws Exception {
        JetStreamManagement jsm = stream.connection().jetStreamManagement();
        long max = 0;
        for (ConsumerInfo info : jsm.getConsumers(stream.stream)) {
            max = Math.max(max, info.getDelivered().getStreamSequence());
        }
        return max;
    }

    private static void drain(SourceReader<RawMessage, JetStreamSplit> reader, List<Long> sequences, int upTo)
            throws Exception {
        ReaderOutputs.Collect out = new ReaderOutputs.Collect(sequences);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (sequences.size() < upTo) {
            assertThat(System.nanoTime()).as("all %d messages within 60 s (have %d)", upTo, sequences.size()).isLessThan(deadline);
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE && sequences.size() < upTo) {
                reader.isAvailable().get(5, TimeUnit.SECONDS);
            }
        }
    }
}
