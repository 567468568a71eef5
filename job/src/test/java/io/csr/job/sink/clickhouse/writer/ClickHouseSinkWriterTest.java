package io.csr.job.sink.clickhouse.writer;

import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseSinkWriterTest {
    static final String JOB_ID = "00000000000000000000000000000abc";
    static final int SUBTASK = 1;
    static final Instant NOW = Instant.parse("2026-11-27T10:15:30Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final ClickHouseSinkOptions DEFAULTS = ClickHouseSinkOptions.defaults();

    static ClickHouseSinkOptions withBatch(int rows, long bytes) {
        return new ClickHouseSinkOptions("it-sink", rows, bytes, 3, 10, 100, ClickHouseSinkOptions.CONTRACT_TABLES);
    }

    static ClickHouseSinkWriter writer(ClickHouseSinkOptions options, OptionalLong restored) {
        return new ClickHouseSinkWriter(options, JOB_ID, SUBTASK, restored, CLOCK, new UnregisteredMetricsGroup());
    }

    static TableRow metric(int i) {
        return new TableRow("metrics_timeseries", "{\"event_id\":\"e-" + i + "\",\"value\":" + i + "}");
    }

    static TableRow event(int i) {
        return new TableRow("events", "{\"event_id\":\"e-" + i + "\"}");
    }

    static List<String> lines(ClickHouseCommittable c) {
        String body = new String(c.payload(), StandardCharsets.UTF_8);
        assertThat(body).as("JSONEachRow body ends with a newline").endsWith("\n");
        return List.of(body.split("\n"));
    }

    static void writeAll(ClickHouseSinkWriter w, List<TableRow> rows) {
        rows.forEach(r -> w.write(r, null));
    }

    @Test
    void groupsACheckpointsRowsByTableIntoOneBatchEach() {
        ClickHouseSinkWriter w = writer(DEFAULTS, OptionalLong.empty());
        writeAll(w, List.of(metric(1), event(1), metric(2), event(2), metric(3)));

        Collection<ClickHouseCommittable> out = w.prepareCommit();

        assertThat(out).extracting(ClickHouseCommittable::table).containsExactly("metrics_timeseries", "events");
        ClickHouseCommittable metrics = out.iterator().next();
        assertThat(lines(metrics)).containsExactly(metric(1).json, metric(2).json, metric(3).json);
        assertThat(metrics.rows()).isEqualTo(3);
        assertThat(out).allSatisfy(c -> {
            assertThat(c.checkpointId()).as("first checkpoint of a fresh job").isEqualTo(1);
            assertThat(c.sinkId()).isEqualTo(DEFAULTS.sinkId());
            assertThat(c.jobId()).isEqualTo(JOB_ID);
            assertThat(c.subtask()).isEqualTo(SUBTASK);
            assertThat(c.writerId()).isEqualTo(w.writerId());
            assertThat(c.preparedAtMs()).isEqualTo(NOW.toEpochMilli());
        });
        assertThat(out).extracting(ClickHouseCommittable::batch).doesNotHaveDuplicates();
    }

    @Test
    void splitsATableIntoBatchesOfAtMostBatchRows() {
        ClickHouseSinkWriter w = writer(withBatch(3, 1 << 20), OptionalLong.empty());
        List<TableRow> rows = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            rows.add(metric(i));
        }
        writeAll(w, rows);

        List<ClickHouseCommittable> out = List.copyOf(w.prepareCommit());

        assertThat(out).extracting(ClickHouseCommittable::rows).containsExactly(3, 3, 1);
        assertThat(out).extracting(ClickHouseCommittable::batch).containsExactly(0, 1, 2);
        List<String> all = new ArrayList<>();
        out.forEach(c -> all.addAll(lines(c)));
        assertThat(all).as("every row once, in order").containsExactlyElementsOf(rows.stream().map(r -> r.json).toList());
    }

    @Test
    void splitsATableIntoBatchesOfAtMostBatchBytesAndLetsAnOversizedRowGoAlone() {
        TableRow small = new TableRow("events", "{\"a\":1}");                 // 7 bytes + newline = 8
        TableRow huge = new TableRow("events", "{\"a\":\"" + "x".repeat(100) + "\"}");
        ClickHouseSinkWriter w = writer(withBatch(1000, 20), OptionalLong.empty());
        writeAll(w, List.of(small, small, small, huge, small));

        List<ClickHouseCommittable> out = List.copyOf(w.prepareCommit());

        assertThat(out).extracting(ClickHouseCommittable::rows).containsExactly(2, 1, 1, 1);
        assertThat(out.get(0).payload()).hasSize(16);
        assertThat(lines(out.get(2))).containsExactly(huge.json);
        assertThat(out).filteredOn(c -> c.rows() > 1).allSatisfy(c -> assertThat(c.payload().length).isLessThanOrEqualTo(20));
    }

    @Test
    void rowsAfterABarrierBelongToTheNextCheckpointAndBatchIndexesRestart() {
        ClickHouseSinkWriter w = writer(withBatch(2, 1 << 20), OptionalLong.empty());
        writeAll(w, List.of(metric(1), metric(2), metric(3)));
        List<ClickHouseCommittable> first = List.copyOf(w.prepareCommit());
        assertThat(w.snapshotState(1)).isEmpty();
        writeAll(w, List.of(metric(4)));
        List<ClickHouseCommittable> second = List.copyOf(w.prepareCommit());
        w.snapshotState(2);
        Collection<ClickHouseCommittable> third = w.prepareCommit();

        assertThat(first).extracting(ClickHouseCommittable::checkpointId).containsOnly(1L);
        assertThat(first).extracting(ClickHouseCommittable::rows).containsExactly(2, 1);
        assertThat(second).singleElement().satisfies(c -> {
            assertThat(c.checkpointId()).isEqualTo(2);
            assertThat(c.batch()).isZero();
            assertThat(lines(c)).containsExactly(metric(4).json);
        });
        assertThat(third).as("nothing buffered, nothing to commit").isEmpty();
    }

    @Test
    void checkpointIdsFollowWhatFlinkReportsEvenWhenCheckpointsAreSkipped() {
        ClickHouseSinkWriter w = writer(DEFAULTS, OptionalLong.of(41));
        writeAll(w, List.of(metric(1)));
        assertThat(w.prepareCommit()).extracting(ClickHouseCommittable::checkpointId).containsExactly(42L);
        w.snapshotState(42);
        w.snapshotState(45); // 43, 44 aborted before reaching this writer; a savepoint took 45
        writeAll(w, List.of(metric(2)));
        assertThat(w.prepareCommit()).extracting(ClickHouseCommittable::checkpointId).containsExactly(46L);
    }

    @Test
    void twoPrepareCommitsWithoutABarrierBetweenNeverReuseALedgerKey() {
        // End of input: Flink calls prepareCommit() at endInput and again before the final checkpoint's snapshot.
        ClickHouseSinkWriter w = writer(DEFAULTS, OptionalLong.empty());
        writeAll(w, List.of(metric(1)));
        List<ClickHouseCommittable> a = List.copyOf(w.prepareCommit());
        writeAll(w, List.of(metric(2)));
        List<ClickHouseCommittable> b = List.copyOf(w.prepareCommit());

        assertThat(a.get(0).ledgerKey()).isNotEqualTo(b.get(0).ledgerKey());
    }

    @Test
    void everyWriterInstanceHasItsOwnIdSoARestoreNeverCollidesWithEarlierCommits() {
        ClickHouseSinkWriter before = writer(DEFAULTS, OptionalLong.of(7));
        ClickHouseSinkWriter after = writer(DEFAULTS, OptionalLong.of(7));
        before.write(metric(1), null);
        after.write(metric(1), null);

        ClickHouseCommittable x = before.prepareCommit().iterator().next();
        ClickHouseCommittable y = after.prepareCommit().iterator().next();

        assertThat(x.checkpointId()).isEqualTo(y.checkpointId()).isEqualTo(8);
        assertThat(x.ledgerKey()).isNotEqualTo(y.ledgerKey());
    }

    @Test
    void aRowForATableTheSinkDoesNotWriteFailsLoudly() {
        ClickHouseSinkWriter w = writer(DEFAULTS, OptionalLong.empty());
        assertThatThrownBy(() -> w.write(new TableRow("sink_commits", "{}"), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sink_commits'")
                .hasMessageContaining("metrics_timeseries");
        assertThatThrownBy(() -> w.write(new TableRow("events", " "), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty JSON row");
    }

    @Test
    void allowedTablesComeFromTheOptions() {
        ClickHouseSinkOptions onlyEvents = new ClickHouseSinkOptions("s", 10, 1000, 1, 1, 1, Set.of("events"));
        ClickHouseSinkWriter w = writer(onlyEvents, OptionalLong.empty());
        w.write(event(1), null);
        assertThatThrownBy(() -> w.write(metric(1), null)).hasMessageContaining("metrics_timeseries");
    }

    @Test
    void neverPutsRowsOfTwoMonthlyPartitionsInOneBatch() {
        ClickHouseSinkWriter w = writer(DEFAULTS, OptionalLong.empty());
        // a backlog spread over 120 months, interleaved: one INSERT per month, so 24.x's limit of 100 partitions per
        // INSERT (max_partitions_per_insert_block) can never be reached
        for (int i = 0; i < 1_200; i++) {
            int month = 201601 + (i % 120) / 12 * 100 + (i % 12);
            w.write(new TableRow("metrics_timeseries", "{\"event_id\":\"e-" + i + "\"}", month), null);
        }
        Collection<ClickHouseCommittable> out = w.prepareCommit();
        assertThat(out).hasSize(120);
        assertThat(out).allSatisfy(c -> assertThat(c.rows()).isEqualTo(10));
        assertThat(out.stream().mapToInt(ClickHouseCommittable::rows).sum()).isEqualTo(1_200);
    }
}
