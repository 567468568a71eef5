package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.TestMetrics;
import io.csr.job.rows.UpdateVersion;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;

import static io.csr.job.aggregate.AggregatorTesting.metric;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * State written by the window operator before its event-time clock became a class of its own ({@code EventClock},
 * issue 20) restores after it with exactly the same results. The snapshot was taken by the code of main at
 * {@code feb661c} and committed with what that same code emitted after restoring it; this test restores it with the
 * code of today and compares every firing, side output, counter and pending timer, step by step (a firing's version by
 * its major: the tag, the firing's time, came later).
 *
 * <p>The snapshot holds three keys in the states the clock has: {@code acme|sroi} with stream time (settled and two
 * pending stamps, both flush cadences pending, an idle check, user days, a backfilled span), {@code beta|hours}
 * without stream time (processing-time silence, windows final and waiting for cleanup), {@code gamma|vis} with every
 * window cleaned up (no deadline, no timers).
 *
 * <p>To write the resources anew (only when the state layout changes on purpose, from the code that writes it):
 * {@code mvn -pl job test -Dtest=WindowAggregatorClockUpgradeTest -Dcsr.rewriteSnapshot=true}.
 */
class WindowAggregatorClockUpgradeTest {
    private static final String RESOURCE = "aggregate/window-aggregator-feb661c";
    private static final long UPDATE_INTERVAL_MS = 20;
    private static final long COARSE_UPDATE_INTERVAL_MS = 1_000;
    private static final long LATENESS_MS = 10 * 60_000L;
    private static final long OUT_OF_ORDERNESS_MS = 5_000;
    private static final long IDLE_MS = 60_000;
    /** Occurred-at of the first events; processing time and stream time start a little after it (live events). */
    private static final long T0 = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();
    private static final long DAY = Instant.parse("2026-11-27T00:00:00Z").toEpochMilli();
    private static final long S0 = T0 + 2_000;

    @Test
    void stateWrittenBeforeTheClockClassRestoresWithTheSameResults() throws Exception {
        Path snapshotFile = Paths.get("src/test/resources", RESOURCE + ".snapshot");
        Path transcriptFile = Paths.get("src/test/resources", RESOURCE + ".expected");
        if (Boolean.getBoolean("csr.rewriteSnapshot")) {
            Files.createDirectories(snapshotFile.getParent());
            OperatorSnapshotUtil.writeStateHandle(writeState(), snapshotFile.toString());
            Files.writeString(transcriptFile, String.join("\n", restoreAndContinue(snapshotFile)) + "\n");
        }
        List<String> expected = Files.readAllLines(transcriptFile);
        assertThat(restoreAndContinue(snapshotFile)).containsExactlyElementsOf(expected);
    }

    /** Builds the three keys' state (see the class comment) and snapshots it. */
    private static OperatorSubtaskState writeState() throws Exception {
        try (TestMetrics metrics = new TestMetrics(); var h = harness(metrics)) {
            h.open();
            h.setProcessingTime(S0);
            h.processWatermark(new Watermark(S0));

            // acme|sroi, stream time: two stamps settle, then two stay pending in the two slots
            h.processElement(metric("a1", "acme", "sroi", "u1", T0, 2), S0 + 10);
            h.processElement(metric("a2", "acme", "sroi", "u2", T0 + 40_000, 3), S0 + 150);
            h.processWatermark(new Watermark(S0 + 200));
            h.setProcessingTime(S0 + 30);
            h.processElement(metric("a3", "acme", "sroi", "u1", T0 - 86_400_000L, 5), S0 + 260); // yesterday
            h.processElement(metric("a4", "acme", "sroi", "u3", T0 + 61_000, 7), S0 + 420);
            h.processElement(metric("a5", "acme", "sroi", "u2", T0 + 65_000, 1), S0 + 380);
            h.processElement(CsrEvent.backfilled("bf1", "acme", "sroi", DAY + 3_600_000L, DAY + 7_200_000L, true), S0 + 430);

            // beta|hours, no stream time: its clock moves on arrival; the 10:10 minute goes final
            h.processElement(new StreamRecord<>(metric("b1", "beta", "hours", "", T0 - 5 * 60_000L, 4)));
            h.processElement(new StreamRecord<>(metric("b2", "beta", "hours", "x", T0 - 3 * 60_000L, 6)));
            h.processElement(new StreamRecord<>(metric("b3", "beta", "hours", "x", T0 + 10_000, 2)));

            // gamma|vis: a window, then the clock far past its day's end + lateness: everything cleaned up
            h.processElement(new StreamRecord<>(metric("g1", "gamma", "vis", "v", T0, 1)));
            h.processElement(new StreamRecord<>(metric("g2", "gamma", "vis", "v", DAY + 2 * 86_400_000L + LATENESS_MS, 1)));
            h.setProcessingTime(S0 + 40);
            h.processElement(new StreamRecord<>(metric("g3", "gamma", "vis", "v", DAY + 4 * 86_400_000L, 1)));
            h.processElement(new StreamRecord<>(metric("g4", "gamma", "vis", "v", T0, 9))); // too late

            h.processElement(metric("a6", "acme", "sroi", "u1", T0 + 1_000, 2), S0 + 440);    // a fine flush pending
            return h.snapshot(1, S0 + 50);
        }
    }

    /** Restores the snapshot, drives the clock through every case and returns what came out, step by step. */
    private static List<String> restoreAndContinue(Path snapshotFile) throws Exception {
        List<String> transcript = new ArrayList<>();
        try (TestMetrics metrics = new TestMetrics(); var h = harness(metrics)) {
            h.initializeState(OperatorSnapshotUtil.readStateHandle(snapshotFile.toString()));
            h.open();
            step(transcript, "restored", h, metrics);

            h.setProcessingTime(S0 + 60);                                  // the restored flush timers
            step(transcript, "flush timers", h, metrics);

            h.setProcessingTime(S0 + 1_100);                               // the coarse cadence
            step(transcript, "coarse flush", h, metrics);

            h.processWatermark(new Watermark(S0 + 300));                   // the first pending slot settles
            step(transcript, "first slot settles", h, metrics);

            h.processElement(metric("a7", "acme", "sroi", "u4", T0 + 30_000, 3), S0 + 450);  // judged by the pending slots
            h.processElement(metric("a8", "acme", "sroi", "u4", T0 + 2 * 60_000L, 1), S0 + 1_000);
            h.processWatermark(new Watermark(S0 + 1_000));                 // everything settles
            step(transcript, "all settle", h, metrics);

            h.processElement(new StreamRecord<>(metric("b4", "beta", "hours", "x", T0 - 4 * 60_000L, 8)));    // late, in lateness
            h.processElement(new StreamRecord<>(metric("b5", "beta", "hours", "x", T0 - 30 * 60_000L, 1)));   // too late for 1m
            h.processElement(new StreamRecord<>(metric("g5", "gamma", "vis", "v", DAY + 4 * 86_400_000L + 1, 2)));
            h.setProcessingTime(S0 + 2_200);
            step(transcript, "late and too late", h, metrics);

            h.setProcessingTime(S0 + IDLE_MS + 5_000);                     // beta silent in processing time
            step(transcript, "beta idle", h, metrics);

            h.processWatermark(new Watermark(S0 + 1_000 + 3 * IDLE_MS));   // acme silent in stream time
            h.setProcessingTime(S0 + 3 * IDLE_MS);
            step(transcript, "acme idle", h, metrics);

            h.setProcessingTime(S0 + 30 * IDLE_MS);
            h.processWatermark(new Watermark(S0 + 30 * IDLE_MS));
            step(transcript, "half an hour on", h, metrics);

            h.processWatermark(new Watermark(Long.MAX_VALUE));             // end of input
            step(transcript, "end of input", h, metrics);
        }
        return transcript;
    }

    private static void step(List<String> transcript, String name, KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> h,
                             TestMetrics metrics) {
        transcript.add("== " + name + ": timers " + h.numProcessingTimeTimers() + " processing, " + h.numEventTimeTimers()
                + " event time; eventsLate " + metrics.count("eventsLate") + ", windowFirings " + metrics.count("windowFirings"));
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof WindowFiring f) {
                // the transcript of feb661c holds versions of 2·count + final: compared by their major, the tag is
                // the firing's time (UpdateVersion)
                assertThat(UpdateVersion.tag(f.version)).as("tag of %s", f).isEqualTo(UpdateVersion.firingTag(f.updatedAtMs));
                long version = f.version;
                f.version = UpdateVersion.major(version);
                transcript.add("firing " + f.toTableRow().json + (f.recompute ? " recompute" : ""));
                f.version = version;
            } else if (o instanceof Watermark w) {
                transcript.add("watermark " + w.getTimestamp());
            } else {
                transcript.add("other " + o);
            }
        }
        h.getOutput().clear();
        drain(transcript, "late", h, WindowAggregator.LATE_EVENTS);
        drain(transcript, "recompute", h, WindowAggregator.RECOMPUTES);
        drain(transcript, "user day", h, WindowAggregator.USER_DAYS);
        Queue<StreamRecord<CsrEvent>> observations = h.getSideOutput(WindowAggregator.OBSERVATIONS);
        if (observations != null) {
            transcript.add("observations " + observations.stream().map(r -> r.getValue().eventId).toList());
            observations.clear();
        }
    }

    private static <T> void drain(List<String> transcript, String label, KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> h,
                                  OutputTag<T> tag) {
        Queue<StreamRecord<T>> side = h.getSideOutput(tag);
        if (side == null) {
            return;
        }
        for (StreamRecord<T> r : side) {
            Object v = r.getValue();
            transcript.add(label + " " + (v instanceof TableRow row ? row.json : ((UserDayFiring) v).toTableRow().json));
        }
        side.clear();
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness(TestMetrics metrics) throws Exception {
        return AggregatorTesting.harness(new WindowAggregator(UPDATE_INTERVAL_MS, COARSE_UPDATE_INTERVAL_MS, LATENESS_MS,
                OUT_OF_ORDERNESS_MS, IDLE_MS), metrics);
    }
}
