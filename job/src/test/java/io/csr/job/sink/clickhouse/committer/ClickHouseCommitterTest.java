package io.csr.job.sink.clickhouse.committer;

import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.committer.FakeCommitRequest.Outcome;
import io.csr.job.sink.clickhouse.committer.FakeCommitTarget.Op;
import org.apache.flink.api.connector.sink2.Committer.CommitRequest;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseCommitterTest {
    static final int RETRIES = 3;
    static final long FIRST_BACKOFF_MS = 200;
    static final long MAX_BACKOFF_MS = 500;
    static final ClickHouseSinkOptions OPTIONS = new ClickHouseSinkOptions("test-sink", 1000, 1 << 20, RETRIES,
            FIRST_BACKOFF_MS, MAX_BACKOFF_MS, ClickHouseSinkOptions.CONTRACT_TABLES);
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-27T10:00:00Z"), ZoneOffset.UTC);

    final FakeCommitTarget target = new FakeCommitTarget();
    final List<Long> sleeps = new ArrayList<>();
    final CommitterMetrics metrics = new CommitterMetrics(new UnregisteredMetricsGroup());

    ClickHouseCommitter committer() {
        return new ClickHouseCommitter(target, OPTIONS, metrics, sleeps::add, CLOCK);
    }

    static ClickHouseCommittable batch(String table, int batch, String... lines) {
        String body = String.join("\n", lines) + "\n";
        return new ClickHouseCommittable("test-sink", "job-1", "writer-a", 0, 5, batch, table,
                CLOCK.millis(), lines.length, body.getBytes(StandardCharsets.UTF_8));
    }

    static final ClickHouseCommittable METRICS = batch("metrics_timeseries", 0, "{\"event_id\":\"m1\"}", "{\"event_id\":\"m2\"}");
    static final ClickHouseCommittable EVENTS = batch("events", 1, "{\"event_id\":\"e1\"}");

    static List<FakeCommitRequest> requests(ClickHouseCommittable... committables) {
        List<FakeCommitRequest> out = new ArrayList<>();
        for (ClickHouseCommittable c : committables) {
            out.add(new FakeCommitRequest(c));
        }
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void commit(ClickHouseCommitter committer, List<FakeCommitRequest> requests) throws Exception {
        committer.commit((List<CommitRequest<ClickHouseCommittable>>) (List) requests);
    }

    @Test
    void insertsEveryBatchThenRecordsThemInTheLedger() throws Exception {
        List<FakeCommitRequest> reqs = requests(METRICS, EVENTS);
        commit(committer(), reqs);

        assertThat(target.rows("metrics_timeseries")).containsExactly("{\"event_id\":\"m1\"}", "{\"event_id\":\"m2\"}");
        assertThat(target.rows("events")).containsExactly("{\"event_id\":\"e1\"}");
        assertThat(target.ledger).containsExactly(METRICS.ledgerKey(), EVENTS.ledgerKey());
        assertThat(target.calls).as("one ledger read, the inserts, one ledger write")
                .containsExactly(Op.LOOKUP, Op.INSERT, Op.INSERT, Op.RECORD);
        assertThat(reqs).extracting(r -> r.outcome).containsOnly(Outcome.NONE); // NONE = committed
        assertThat(metrics.rowsCommitted()).isEqualTo(3);
        assertThat(metrics.batchesCommitted()).isEqualTo(2);
        assertThat(metrics.pending()).isZero();
    }

    @Test
    void aReplayedCommitIsSkippedByTheLedger() throws Exception {
        commit(committer(), requests(METRICS));
        List<FakeCommitRequest> replay = requests(METRICS);
        commit(committer(), replay);

        assertThat(target.rows("metrics_timeseries")).as("no second insert").hasSize(2);
        assertThat(target.ledger).containsExactly(METRICS.ledgerKey());
        assertThat(replay.get(0).outcome).isEqualTo(Outcome.ALREADY_COMMITTED);
        assertThat(metrics.batchesAlreadyCommitted()).isEqualTo(1);
    }

    @Test
    void theSameBatchTwiceInOneCallIsInsertedOnce() throws Exception {
        commit(committer(), requests(METRICS, METRICS));
        assertThat(target.rows("metrics_timeseries")).hasSize(2);
        assertThat(target.ledger).containsExactly(METRICS.ledgerKey());
    }

    @Test
    void retriableErrorsAreRetriedWithExponentialBackoffWithoutDuplicates() throws Exception {
        target.fail(Op.LOOKUP, FakeCommitTarget.retriable("ledger"))
                .fail(Op.INSERT, FakeCommitTarget.retriable("insert"))
                .fail(Op.INSERT, FakeCommitTarget.retriable("insert"))
                .fail(Op.RECORD, FakeCommitTarget.retriable("record"));
        List<FakeCommitRequest> reqs = requests(METRICS);
        commit(committer(), reqs);

        assertThat(target.rows("metrics_timeseries")).hasSize(2);
        assertThat(target.ledger).containsExactly(METRICS.ledgerKey());
        assertThat(sleeps).containsExactly(200L, 200L, 400L, 200L);
        assertThat(metrics.retries()).isEqualTo(4);
        assertThat(reqs.get(0).outcome).isEqualTo(Outcome.NONE);
    }

    @Test
    void anInsertWhoseAnswerWasLostIsRetriedAndCollapsesUnderFinal() throws Exception {
        target.failInsertAfterWriting(FakeCommitTarget.retriable("insert (read timeout)"));
        commit(committer(), requests(METRICS));

        assertInsertedTwiceOnceUnderFinal("the retry wrote the rows again");
    }

    @Test
    void aLedgerWriteWhoseAnswerWasLostIsNotRecordedTwice() throws Exception {
        target.failRecordAfterWriting(FakeCommitTarget.retriable("record (ClickHouse killed before it answered)"));
        List<FakeCommitRequest> reqs = requests(METRICS, EVENTS);
        commit(committer(), reqs);

        assertThat(target.ledger).as("each batch recorded once, as the merge-proof ledger count sees it")
                .containsExactly(METRICS.ledgerKey(), EVENTS.ledgerKey());
        assertThat(target.calls).as("the retry reads the ledger before it writes, and has nothing left to write")
                .containsExactly(Op.LOOKUP, Op.INSERT, Op.INSERT, Op.RECORD, Op.LOOKUP);
        assertThat(reqs).extracting(r -> r.outcome).containsOnly(Outcome.NONE);
    }

    @Test
    void backoffDoublesUpToTheCap() {
        ClickHouseCommitter c = committer();
        assertThat(List.of(c.backoffMs(0), c.backoffMs(1), c.backoffMs(2), c.backoffMs(3), c.backoffMs(30)))
                .containsExactly(200L, 400L, 500L, 500L, 500L);
    }

    @Test
    void aRetriableErrorThatOutlastsTheRetriesFailsTheCommitAndKeepsTheBatch() {
        for (int i = 0; i <= RETRIES; i++) {
            target.fail(Op.INSERT, FakeCommitTarget.retriable("insert"));
        }
        List<FakeCommitRequest> reqs = requests(METRICS);

        assertThatThrownBy(() -> commit(committer(), reqs))
                .isInstanceOfSatisfying(ClickHouseCommitException.class, e -> assertThat(e.retriable()).isTrue())
                .hasMessageContaining("after 3 retries")
                .hasMessageContaining("checkpoint=5")
                .hasMessageContaining("table=metrics_timeseries");
        assertThat(sleeps).hasSize(RETRIES);
        assertThat(reqs.get(0).outcome).as("not marked done or dropped").isEqualTo(Outcome.NONE);
        assertThat(target.ledger).isEmpty();
    }

    @Test
    void aPermanentErrorFailsAtOnceNamingTheBatchAndWhatToDo() {
        target.fail(Op.INSERT, FakeCommitTarget.permanent("INSERT INTO metrics_timeseries", 60));
        List<FakeCommitRequest> reqs = requests(METRICS);

        assertThatThrownBy(() -> commit(committer(), reqs))
                .isInstanceOfSatisfying(ClickHouseCommitException.class, e -> assertThat(e.retriable()).isFalse())
                .hasMessageContaining("permanent")
                .hasMessageContaining("table=metrics_timeseries")
                .hasMessageContaining("bin/csr migrate")
                .hasMessageContaining("nothing was dropped");
        assertThat(sleeps).as("no retries of a permanent error").isEmpty();
        assertThat(reqs.get(0).outcome).isEqualTo(Outcome.NONE);
    }

    @Test
    void batchesInsertedBeforeAFailureAreRecordedSoTheRestartSkipsThem() throws Exception {
        ClickHouseCommittable third = batch("dead_letters", 2, "{\"stream_seq\":1}");
        // the first insert succeeds, the second fails permanently
        FakeCommitTarget t = new FakeCommitTarget() {
            int inserts;

            @Override
            public void insert(ClickHouseCommittable b) {
                if (++inserts == 2) {
                    throw permanent("INSERT INTO events", 27);
                }
                super.insert(b);
            }
        };
        ClickHouseCommitter c = new ClickHouseCommitter(t, OPTIONS, metrics, sleeps::add, CLOCK);
        assertThatThrownBy(() -> commit(c, requests(METRICS, EVENTS, third))).isInstanceOf(ClickHouseCommitException.class);
        assertThat(t.ledger).containsExactly(METRICS.ledgerKey());

        // After the restart Flink commits all three again: the first is skipped, the others go in.
        List<FakeCommitRequest> again = requests(METRICS, EVENTS, third);
        commit(new ClickHouseCommitter(t, OPTIONS, metrics, sleeps::add, CLOCK), again);
        assertThat(again).extracting(r -> r.outcome).containsExactly(Outcome.ALREADY_COMMITTED, Outcome.NONE, Outcome.NONE);
        assertThat(t.rows("metrics_timeseries")).hasSize(2);
        assertThat(t.rows("events")).hasSize(1);
        assertThat(t.rows("dead_letters")).hasSize(1);
    }

    @Test
    void aCrashBetweenInsertAndLedgerWriteReplaysTheInsertWhichCollapsesUnderFinal() throws Exception {
        target.fail(Op.RECORD, FakeCommitTarget.permanent("INSERT INTO sink_commits", 241)); // "crash" before the ledger write
        assertThatThrownBy(() -> commit(committer(), requests(METRICS))).isInstanceOf(ClickHouseCommitException.class);
        assertThat(target.ledger).isEmpty();

        commit(committer(), requests(METRICS));

        assertInsertedTwiceOnceUnderFinal("the replay inserted them again");
    }

    /** The METRICS rows were inserted twice ({@code why}), FINAL shows them once, and the ledger holds the commit once. */
    private void assertInsertedTwiceOnceUnderFinal(String why) {
        assertThat(target.rows("metrics_timeseries")).as(why).hasSize(4);
        assertThat(target.distinctRows("metrics_timeseries")).as("what FINAL shows").hasSize(2);
        assertThat(target.ledger).containsExactly(METRICS.ledgerKey());
    }

    @Test
    void anEmptyCommitTouchesNothingAndCloseClosesTheTarget() throws Exception {
        ClickHouseCommitter c = committer();
        commit(c, List.of());
        c.close();
        assertThat(target.calls).isEmpty();
        assertThat(target.closed).isTrue();
    }
}
