package io.csr.job.cohort;

import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The replication operator with a scripted reader: rows out, watermark in state, failures swallowed and retried. */
class CohortReplicatorTest {
    static final long POLL_MS = 5_000;
    static final long T0 = 1_800_000_000_000L;
    static final CohortReplicationOptions OPTIONS = CohortReplicationOptions.defaults().withPollIntervalMs(POLL_MS);

    /** What the fake reader answers, in order, and the watermarks it was asked for. Static: the factory is a lambda. */
    static final Deque<Object> SCRIPT = new ArrayDeque<>();
    static final List<Long> ASKED = new ArrayList<>();
    static final AtomicLong NOW = new AtomicLong(T0);

    @BeforeEach
    void reset() {
        SCRIPT.clear();
        ASKED.clear();
        NOW.set(T0);
    }

    static final class ScriptedChanges implements CohortChanges {
        @Override
        public CohortPoll poll(long watermarkMicros) throws SQLException {
            ASKED.add(watermarkMicros);
            Object next = SCRIPT.removeFirst();
            if (next instanceof SQLException e) {
                throw e;
            }
            return (CohortPoll) next;
        }

        @Override
        public void close() {
        }
    }

    static OneInputStreamOperatorTestHarness<Long, TableRow> harness(OperatorSubtaskState restoreFrom) throws Exception {
        CohortReplicator replicator = new CohortReplicator(OPTIONS, o -> new ScriptedChanges(), NOW::get);
        OneInputStreamOperatorTestHarness<Long, TableRow> h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(replicator));
        if (restoreFrom != null) {
            h.initializeState(restoreFrom);
        }
        h.open();
        return h;
    }

    static CohortPoll poll(long next, String... users) {
        List<MembershipRecord> m = new ArrayList<>();
        for (String u : users) {
            m.add(new MembershipRecord(1, "acme", u, 10, null, 20));
        }
        return new CohortPoll(List.of(), m, next);
    }

    static void tick(OneInputStreamOperatorTestHarness<Long, TableRow> h) throws Exception {
        h.processElement(new StreamRecord<>(0L));
        NOW.addAndGet(POLL_MS);
    }

    static List<TableRow> drain(OneInputStreamOperatorTestHarness<Long, TableRow> h) {
        List<TableRow> out = new ArrayList<>(h.extractOutputValues());
        h.getOutput().clear();
        return out;
    }

    @Test
    void eachPollEmitsItsRowsAndTheNextPollReadsFromTheWatermarkItReturned() throws Exception {
        SCRIPT.add(poll(100, "u1", "u2"));
        SCRIPT.add(poll(250, "u3"));
        try (var h = harness(null)) {
            tick(h);
            assertThat(drain(h)).hasSize(2).allMatch(r -> r.table.equals("user_cohorts"));
            tick(h);
            assertThat(drain(h)).hasSize(1);
        }
        assertThat(ASKED).as("a fresh start reads everything, then from each poll's watermark").containsExactly(0L, 100L);
    }

    @Test
    void aFailedPollEmitsNothingKeepsTheWatermarkDoesNotThrowAndTheNextTickCatchesUp() throws Exception {
        SCRIPT.add(poll(100, "u1"));
        SCRIPT.add(new SQLException("Connection to 127.0.0.1:5432 refused"));
        SCRIPT.add(new SQLException("FATAL: database \"x\" does not exist"));
        SCRIPT.add(poll(400, "u2", "u3"));
        try (var h = harness(null)) {
            tick(h);
            drain(h);
            tick(h);
            tick(h);
            assertThat(drain(h)).isEmpty();
            tick(h);
            assertThat(drain(h)).hasSize(2);
        }
        assertThat(ASKED).containsExactly(0L, 100L, 100L, 100L);
    }

    @Test
    void ticksThatQueuedBehindASlowPollDoNotTurnIntoBackToBackPolls() throws Exception {
        SCRIPT.add(poll(100, "u1"));
        try (var h = harness(null)) {
            h.processElement(new StreamRecord<>(0L));
            h.processElement(new StreamRecord<>(1L));   // same instant: skipped
            h.processElement(new StreamRecord<>(2L));
        }
        assertThat(ASKED).hasSize(1);
    }

    @Test
    void aRestoreResumesFromTheCheckpointedWatermarkWithoutAFullReRead() throws Exception {
        SCRIPT.add(poll(100, "u1"));
        SCRIPT.add(poll(200, "u2"));
        OperatorSubtaskState checkpoint;
        try (var h = harness(null)) {
            tick(h);
            checkpoint = h.snapshot(1, NOW.get());     // covers the first poll's rows and watermark 100
            tick(h);                                  // emitted after the checkpoint: lost with the failure
        }
        SCRIPT.add(poll(300, "u2"));
        try (var restored = harness(checkpoint)) {
            tick(restored);
            assertThat(drain(restored)).as("the change after the checkpoint is read again").hasSize(1);
        }
        assertThat(ASKED).containsExactly(0L, 100L, 100L);
    }
}
