package io.csr.common.verify;

import io.csr.common.TestNamespace;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The raw half of the exactly-once verdict against the real ClickHouse: a batch inserted twice and recorded twice in
 * the commit ledger is seen after {@code OPTIMIZE ... FINAL} has collapsed both copies in the tables themselves —
 * what a background merge (or a restart, which ends {@code SYSTEM STOP MERGES}) does to a raw count.
 */
class ExactlyOnceCheckITCase {
    private static final String STREAM = "S";
    private ClickHouseAccess ch;

    @BeforeEach
    void database() {
        ch = ClickHouseAccess.open(ClickHouseSettings.from(TestNamespace.config()).withDatabase(TestNamespace.unique("csr_it_eoc")));
        ch.createDatabaseIfMissing();
        Migrations.clickHouse(ch, Migrations.sqlRoot(), line -> { }).migrate();
        ExactlyOnceCheck.installRawCounters(ch);
    }

    @AfterEach
    void drop() {
        try {
            ch.dropDatabase();
        } finally {
            ch.close();
        }
    }

    private static final List<ExactlyOnceCheck.Published> PUBLISHED = List.of(
            new ExactlyOnceCheck.Published("c1", "e1", null, 0, 0, true, 1),
            new ExactlyOnceCheck.Published("c1", "e2", null, 0, 0, true, 2),
            new ExactlyOnceCheck.Published("c1", null, null, 0, 0, false, 3));

    private void commitBatch(long checkpoint) {
        ch.insertJsonEachRow("events", ("{\"event_id\":\"e1\",\"event_type\":\"journey\",\"company_id\":\"c1\",\"occurred_at\":\"2026-12-01 10:00:00\"}\n"
                + "{\"event_id\":\"e2\",\"event_type\":\"journey\",\"company_id\":\"c1\",\"occurred_at\":\"2026-12-01 10:00:00\"}\n")
                .getBytes(StandardCharsets.UTF_8));
        ch.insertJsonEachRow("dead_letters", ("{\"received_at\":\"2026-12-01 10:00:00\",\"stream\":\"" + STREAM + "\",\"stream_seq\":3}\n")
                .getBytes(StandardCharsets.UTF_8));
        ch.insertJsonEachRow("sink_commits", ("{\"sink_id\":\"s\",\"checkpoint_id\":" + checkpoint + ",\"table_name\":\"events\",\"rows\":2,\"prepared_at\":\"2026-12-01 10:00:00\"}\n"
                + "{\"sink_id\":\"s\",\"checkpoint_id\":" + checkpoint + ",\"table_name\":\"dead_letters\",\"rows\":1,\"prepared_at\":\"2026-12-01 10:00:00\"}\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    private void mergeEverything() {
        for (String table : List.of("events", "dead_letters", "sink_commits")) {
            ch.execute("OPTIMIZE TABLE " + table + " FINAL");
        }
    }

    @Test
    void aBatchCommittedOnceHoldsAfterMerges() {
        commitBatch(1);
        mergeEverything();
        ExactlyOnceCheck check = new ExactlyOnceCheck(PUBLISHED, STREAM);
        assertThat(check.rawProblems(ch, false)).isEmpty();
        assertThat(ExactlyOnceCheck.rawEventCopies(ch)).isZero();
    }

    @Test
    void aBatchCommittedTwiceIsSeenAfterMergesCollapsedItsCopies() {
        commitBatch(1);
        commitBatch(1); // the same batch again, recorded again under the same ledger key: a committer that ignored its ledger
        mergeEverything();
        assertThat(ch.queryLong("SELECT count() FROM events")).as("the merge collapsed the copies in the table").isEqualTo(2);
        assertThat(ch.queryLong("SELECT count() FROM sink_commits")).as("and the ledger's second row").isEqualTo(2);

        ExactlyOnceCheck check = new ExactlyOnceCheck(PUBLISHED, STREAM);
        assertThat(ExactlyOnceCheck.rawEventCopies(ch)).isEqualTo(2);
        assertThat(check.rawDeadLetterCopies(ch)).isEqualTo(1);
        assertThat(check.rawProblems(ch, false)).anySatisfy(p -> assertThat(p).startsWith("2 commit ledger batches recorded twice"))
                .anySatisfy(p -> assertThat(p).contains("2 extra events rows, 1 extra dead_letters rows"));
        assertThat(check.rawProblems(ch, true)).as("a crash explains copies, not a batch recorded twice")
                .singleElement().asString().startsWith("2 commit ledger batches recorded twice");
    }

    @Test
    void aBatchRecordedUnderASecondKeyBreaksTheLedgerSums() {
        commitBatch(1);
        commitBatch(2); // the same rows again, recorded under another checkpoint: no key repeats, but the sums do not add up
        mergeEverything();
        ExactlyOnceCheck check = new ExactlyOnceCheck(PUBLISHED, STREAM);
        assertThat(check.rawProblems(ch, true)).anySatisfy(p -> assertThat(p).contains("batches hold 4 events rows, not the 2"))
                .anySatisfy(p -> assertThat(p).contains("batches hold 2 dead_letters rows, not the 1"));
    }

    @Test
    void aLedgerRowItsCounterNeverSawIsExplainedOnlyByACrash() {
        // a server killed between writing the ledger's block to the table and to its materialized view: modelled by
        // the view being away for that INSERT
        ch.execute("DROP TABLE verify_ledger_inserted_mv");
        commitBatch(1);
        ExactlyOnceCheck.installRawCounters(ch);
        mergeEverything();
        ExactlyOnceCheck check = new ExactlyOnceCheck(PUBLISHED, STREAM);
        assertThat(check.rawProblems(ch, true)).as("the ledger itself holds every batch once").isEmpty();
        assertThat(check.rawProblems(ch, false)).singleElement().asString()
                .startsWith("2 commit ledger batches in the table but not in its counter");
    }
}
