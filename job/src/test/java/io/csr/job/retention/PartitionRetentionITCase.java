package io.csr.job.retention;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.job.sink.clickhouse.ClickHouseTestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Retention against the real ClickHouse, in a database of its own with every migration applied. */
class PartitionRetentionITCase {
    static final Clock NOV_2026 = Clock.fixed(Instant.parse("2026-11-27T01:00:00Z"), ZoneOffset.UTC);
    static final String CURRENT = "2026-11-20 10:00:00";
    static final String OLD = "2024-01-15 10:00:00";          // older than 13 months
    static final String SEVEN_MONTHS_AGO = "2026-04-10 10:00:00"; // kept for data (13), dropped for dead letters (6)
    static final RetentionOptions THIRTEEN_AND_SIX = new RetentionOptions(13, 6, Duration.ofHours(1), true);

    ClickHouseTestDatabase db;
    ClickHouseAccess ch;

    @BeforeEach
    void createDatabase() {
        db = new ClickHouseTestDatabase("retention");
        ch = db.access();
    }

    @AfterEach
    void dropDatabase() {
        db.close();
    }

    static Map<String, Object> row(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    void insertAt(String time, String id) {
        ch.insertRows("events", List.of(row("event_id", id, "event_type", "metric", "company_id", "acme", "occurred_at", time)));
        ch.insertRows("metrics_timeseries", List.of(row("company_id", "acme", "metric", "sroi", "ts", time, "value", 1.5, "event_id", id)));
        ch.insertRows("metric_windows", List.of(row("company_id", "acme", "metric", "sroi", "window_size", "1h", "window_start", time, "count", 1, "version", 1)));
        ch.insertRows("dead_letters", List.of(row("received_at", time, "stream", "CSR_EVENTS", "stream_seq", 1, "error", "bad", "payload", "{")));
        ch.insertRows("late_events", List.of(row("company_id", "acme", "metric", "sroi", "event_id", id, "occurred_at", time, "window_size", "1m")));
        ch.insertRows("sink_commits", List.of(row("sink_id", "s", "writer_id", id, "prepared_at", time, "committed_at", time)));
    }

    List<String> partitions(String table) {
        return ch.query("SELECT DISTINCT partition FROM system.parts WHERE database = '" + db.name() + "' AND table = '"
                + table + "' AND active ORDER BY partition").stream().map(n -> n.get("partition").asText()).toList();
    }

    @Test
    void dropsPartitionsOlderThanEachTablesRetentionAndKeepsTheRest() {
        insertAt(OLD, "old");
        insertAt(SEVEN_MONTHS_AGO, "mid");
        insertAt(CURRENT, "new");

        PartitionRetention.Report report = new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce();

        for (String table : List.of("events", "metrics_timeseries", "metric_windows", "sink_commits")) {
            assertThat(partitions(table)).as(table).containsExactly("202604", "202611");
        }
        for (String table : List.of("dead_letters", "late_events")) {
            assertThat(partitions(table)).as(table).containsExactly("202611");
        }
        assertThat(ch.queryLong("SELECT count() AS c FROM events FINAL")).isEqualTo(2);
        assertThat(ch.queryLong("SELECT count() AS c FROM events FINAL WHERE event_id = 'new'")).isEqualTo(1);
        assertThat(report.failures()).isEmpty();
        assertThat(report.dropped()).hasSize(8)
                .contains(new PartitionRetention.DroppedPartition("events", "202401", 1, report.dropped().stream()
                        .filter(d -> d.table().equals("events")).findFirst().orElseThrow().bytes()))
                .anySatisfy(d -> assertThat(d).extracting("table", "partition").containsExactly("dead_letters", "202604"));
        assertThat(report.rowsDropped()).isEqualTo(8);

        PartitionRetention.Report again = new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce();
        assertThat(again.dropped()).as("a second run has nothing left to drop").isEmpty();
    }

    @Test
    void aMissingTableIsSkippedAndAPartitionThatIsNotAMonthIsLeftAlone() {
        insertAt(OLD, "old");
        ch.execute("DROP TABLE dead_letters");
        ch.execute("DROP TABLE late_events");
        ch.execute("CREATE TABLE late_events (event_id String, occurred_at DateTime('UTC')) ENGINE = MergeTree "
                + "PARTITION BY event_id ORDER BY event_id");
        ch.insertRows("late_events", List.of(row("event_id", "old", "occurred_at", OLD)));

        PartitionRetention.Report report = new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce();

        assertThat(report.failures()).isEmpty();
        assertThat(partitions("late_events")).containsExactly("old");
        assertThat(partitions("events")).as("the other tables were still processed").isEmpty();
        assertThat(report.dropped()).extracting(PartitionRetention.DroppedPartition::table)
                .containsExactlyInAnyOrder("events", "metrics_timeseries", "metric_windows", "sink_commits");
    }

    @Test
    void theScheduleRunsAtOnceOnTheCallersExecutor() {
        insertAt(OLD, "old");
        insertAt(CURRENT, "new");
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        try {
            new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).schedule(executor);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(partitions("late_events")).containsExactly("202611"));
            assertThat(partitions("events")).containsExactly("202611");
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void theCurrentMonthIsAlwaysKept() {
        insertAt(CURRENT, "new");
        PartitionRetention.Report report = new PartitionRetention(ch, new RetentionOptions(1, 1, Duration.ZERO, true), NOV_2026).runOnce();
        assertThat(report.dropped()).isEmpty();
        assertThat(partitions("events")).containsExactly("202611");
    }

    long parts(String table, String partition) {
        return ch.queryLong("SELECT count() AS c FROM system.parts WHERE database = '" + db.name() + "' AND table = '" + table
                + "' AND partition = '" + partition + "' AND active");
    }

    @Test
    void monthsWithRowsSpreadOverPartsAreMergedIntoOneAndReplayedCopiesLeaveTheDisk() {
        insertAt(SEVEN_MONTHS_AGO, "mid");
        insertAt(SEVEN_MONTHS_AGO, "mid");   // a replayed batch: the same rows again, in a second part
        insertAt(SEVEN_MONTHS_AGO, "mid2");
        insertAt(CURRENT, "new");
        insertAt(CURRENT, "new2");
        assertThat(ch.queryLong("SELECT count() AS c FROM metrics_timeseries WHERE event_id = 'mid'")).isEqualTo(2);

        PartitionRetention.Report report = new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce();

        assertThat(report.failures()).isEmpty();
        List<org.assertj.core.groups.Tuple> expected = new ArrayList<>();
        for (String table : List.of("events", "metrics_timeseries", "metric_windows")) {
            expected.add(org.assertj.core.groups.Tuple.tuple(table, "202604", 3L));
            expected.add(org.assertj.core.groups.Tuple.tuple(table, "202611", 2L));
            assertThat(parts(table, "202604")).as(table + ": a closed month, one part").isEqualTo(1);
            assertThat(parts(table, "202611")).as(table + ": the open month too").isEqualTo(1);
        }
        assertThat(report.compacted()).extracting("table", "partition", "partsBefore").containsExactlyInAnyOrderElementsOf(expected);
        assertThat(ch.queryLong("SELECT count() AS c FROM metrics_timeseries WHERE event_id = 'mid'"))
                .as("the copy is gone without FINAL").isEqualTo(1);
        assertThat(ch.queryLong("SELECT count() AS c FROM metrics_timeseries WHERE toYYYYMM(ts) = 202604")).isEqualTo(2);
        assertThat(parts("sink_commits", "202604")).as("tables read without FINAL are not compacted").isEqualTo(3);

        assertThat(new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce().compacted())
                .as("a one-part month is not merged again").isEmpty();
        assertThat(new PartitionRetention(ch, new RetentionOptions(13, 6, Duration.ZERO, false), NOV_2026).runOnce().compacted())
                .isEmpty();
    }

    @Test
    void aMonthWhoseBiggestPartHoldsNineTenthsOfItsRowsIsLeftAlone() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            rows.add(row("company_id", "acme", "metric", "sroi", "ts", CURRENT, "value", 1.0, "event_id", "big" + i));
        }
        ch.insertRows("metrics_timeseries", rows);                                        // one part of 20 rows
        ch.insertRows("metrics_timeseries", List.of(row("company_id", "acme", "metric", "sroi", "ts", CURRENT, "value", 1.0, "event_id", "late")));

        assertThat(new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce().compacted())
                .as("1 of 21 rows outside the biggest part: FINAL is already cheap, a rewrite would cost more").isEmpty();
        ch.insertRows("metrics_timeseries", List.of(row("company_id", "acme", "metric", "sroi", "ts", CURRENT, "value", 1.0, "event_id", "late2"),
                row("company_id", "acme", "metric", "sroi", "ts", CURRENT, "value", 1.0, "event_id", "late3")));
        assertThat(new PartitionRetention(ch, THIRTEEN_AND_SIX, NOV_2026).runOnce().compacted())
                .as("3 of 23 rows outside: merged").extracting("table", "partition").containsExactly(
                        org.assertj.core.groups.Tuple.tuple("metrics_timeseries", "202611"));
        assertThat(parts("metrics_timeseries", "202611")).isEqualTo(1);
    }
}
