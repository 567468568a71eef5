package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.job.aggregate.WindowSize;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.pipeline.EventRows;
import io.csr.job.rows.UpdateVersion;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.ClickHouseTestDatabase;
import io.csr.job.rows.RowFormat;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitTarget;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitter;
import io.csr.job.sink.clickhouse.committer.CommitterMetrics;
import io.csr.job.sink.clickhouse.committer.FakeCommitRequest;
import io.csr.common.clickhouse.ClickHouseAccess;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Late corrections against the real ClickHouse and Redis: a window the live operator closed with 3 events gets a 4th,
 * too-late event; the commit that inserts its metrics_timeseries and late_events rows recomputes the window from
 * {@code metrics_timeseries FINAL}, writes it with a higher version and publishes it; a replay changes nothing.
 */
class WindowRecomputeITCase {
    private static final String REDIS_URL = System.getenv().getOrDefault("REDIS_URL", "redis://127.0.0.1:6379");
    private static final long MINUTE = Instant.parse("2026-11-27T10:15:00Z").toEpochMilli();
    private final String prefix = "it_recompute_" + UUID.randomUUID().toString().substring(0, 8) + ":";
    private final ClickHouseTestDatabase db = new ClickHouseTestDatabase("recompute");
    private int batch;

    @AfterEach
    void tearDown() {
        db.close();
        try (Jedis redis = new Jedis(URI.create(REDIS_URL))) {
            redis.del(RedisStreams.updatesKey(prefix, "acme"));
        }
    }

    private static CsrEvent event(String id, long at, double value) {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.METRIC;
        e.eventId = id;
        e.companyId = "acme";
        e.name = "sroi";
        e.userId = "";
        e.occurredAtMs = at;
        e.value = value;
        return e;
    }

    private ClickHouseCommittable committable(String table, List<TableRow> rows) {
        StringBuilder body = new StringBuilder();
        for (TableRow r : rows) {
            body.append(r.json).append('\n');
        }
        return new ClickHouseCommittable("it-sink", "job", "writer-1", 0, 7, batch++, table, System.currentTimeMillis(),
                rows.size(), body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private ClickHouseCommitter committer() {
        WindowRecompute hook = WindowRecompute.forLateEvents(CorrectionPublisher.redis(REDIS_URL, prefix));
        return new ClickHouseCommitter(new ClickHouseCommitTarget(ClickHouseAccess.open(db.settings())),
                hook.open(db.settings()), ClickHouseSinkOptions.defaults(), new CommitterMetrics(new UnregisteredMetricsGroup()));
    }

    @Test
    void aTooLateEventCorrectsItsWindowsExactlyWithAHigherVersionAndPublishesThem() throws Exception {
        // what the live job committed earlier: three observations and the minute's final firing (major 2·3+1)
        List<CsrEvent> onTime = List.of(event("e1", MINUTE + 1_000, 1), event("e2", MINUTE + 2_000, 5), event("e3", MINUTE + 3_000, 9));
        db.access().insertJsonEachRow("metrics_timeseries", lines(onTime.stream().map(EventRows::timeseriesRow).toList()));
        db.access().execute("INSERT INTO metric_windows (company_id, metric, window_size, window_start, window_end, count, sum,"
                + " min, max, avg, p50, p75, p95, stddev, version, final) VALUES ('acme', 'sroi', '1m', toDateTime('2026-11-27 10:15:00', 'UTC'),"
                + " toDateTime('2026-11-27 10:16:00', 'UTC'), 3, 15, 1, 9, 5, 5, 9, 9, 3.27, " + UpdateVersion.of(7, 4_321) + ", 1)");

        // the commit carrying the late event: its metrics_timeseries row and its late_events row (1m only: the hour
        // and the day were still open and counted it from state)
        CsrEvent late = event("e4", MINUTE + 30_000, 13);
        List<FakeCommitRequest> requests = List.of(
                new FakeCommitRequest(committable("late_events", List.of(lateRow(late, "1m")))),
                new FakeCommitRequest(committable("metrics_timeseries", List.of(EventRows.timeseriesRow(late)))));
        try (ClickHouseCommitter committer = committer()) {
            committer.commit(new ArrayList<>(requests));
        }

        JsonNode w = window("1m");
        assertThat(w.get("count").asLong()).isEqualTo(4);
        assertThat(w.get("sum").asDouble()).isEqualTo(28.0);
        assertThat(w.get("min").asDouble()).isEqualTo(1.0);
        assertThat(w.get("max").asDouble()).isEqualTo(13.0);
        assertThat(w.get("avg").asDouble()).isEqualTo(7.0);
        assertThat(w.get("version").asLong()).as("major 2·4+1, above the live final firing's 7").isEqualTo(UpdateVersion.recomputed(9));
        assertThat(w.get("final").asInt()).isEqualTo(1);
        double[] sorted = {1, 5, 9, 13};
        assertThat(w.get("p50").asDouble()).isEqualTo(sorted[2]); // quantileExact: element floor(0.5·4)
        assertThat(w.get("stddev").asDouble()).isCloseTo(Math.sqrt(Arrays.stream(sorted).map(v -> (v - 7) * (v - 7)).sum() / 4),
                org.assertj.core.api.Assertions.within(1e-9));
        assertThat(db.count("SELECT count() FROM metric_windows FINAL WHERE window_size != '1m'"))
                .as("only the windows named by late_events rows are recomputed").isZero();

        try (Jedis redis = new Jedis(URI.create(REDIS_URL))) {
            List<StreamEntry> entries = redis.xrange(RedisStreams.updatesKey(prefix, "acme"), (StreamEntryID) null, null);
            assertThat(entries).hasSize(1);
            assertThat(entries.get(0).getFields().get(RedisStreams.FIELD_TYPE)).isEqualTo("sroi_updated");
            JsonNode data = Json.mapper().readTree(entries.get(0).getFields().get(RedisStreams.FIELD_DATA));
            assertThat(data.get("count").asLong()).isEqualTo(4);
            assertThat(data.get("version").asLong()).isEqualTo(UpdateVersion.recomputed(9));
            assertThat(data.get("final").asBoolean()).isTrue();
            assertThat(data.get("windowStart").asText()).isEqualTo("2026-11-27T10:15:00Z");
        }

        // a replay of the same commit (crash before the ledger write): the same figures, the same version
        // (new batch numbers: ledger keys the ledger does not hold, so the rows go in again and the hook runs again)
        try (ClickHouseCommitter committer = committer()) {
            committer.commit(new ArrayList<>(List.of(
                    new FakeCommitRequest(committable("late_events", List.of(lateRow(late, "1m")))),
                    new FakeCommitRequest(committable("metrics_timeseries", List.of(EventRows.timeseriesRow(late)))))));
        }
        JsonNode again = window("1m");
        assertThat(again.get("count").asLong()).isEqualTo(4);
        assertThat(again.get("version").asLong()).isEqualTo(UpdateVersion.recomputed(9));
        assertThat(db.count("SELECT count() FROM metrics_timeseries FINAL")).isEqualTo(4);
    }

    private JsonNode window(String size) {
        List<JsonNode> rows = db.access().query("SELECT count, sum, min, max, avg, p50, p75, p95, stddev, version, final"
                + " FROM metric_windows FINAL WHERE company_id = 'acme' AND metric = 'sroi' AND window_size = '" + size + "'");
        assertThat(rows).hasSize(1);
        return rows.get(0);
    }

    private static TableRow lateRow(CsrEvent e, String size) {
        return new TableRow("late_events", "{\"company_id\":\"acme\",\"metric\":\"sroi\",\"event_id\":\"" + e.eventId
                + "\",\"occurred_at\":\"2026-11-27 10:15:30\",\"value\":" + e.value + ",\"window_size\":\"" + size
                + "\",\"received_at\":\"2026-11-27 12:00:00\"}");
    }

    private static byte[] lines(List<TableRow> rows) {
        StringBuilder b = new StringBuilder();
        rows.forEach(r -> b.append(r.json).append('\n'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aCommitWithMoreLateWindowsThanOneRequestHoldsCorrectsEveryOne() throws Exception {
        // 3 requests' worth of query parts: 250 metrics, each with two rows already in and one late row now
        int metrics = 2 * WindowRecompute.PARTS_PER_QUERY + 50;
        List<TableRow> before = new ArrayList<>();
        List<TableRow> lateTimeseries = new ArrayList<>();
        List<TableRow> lateRows = new ArrayList<>();
        for (int m = 0; m < metrics; m++) {
            long minute = MINUTE + (m % 7) * 60_000L; // windows of different minutes too
            String metric = String.format("m%03d", m);
            before.add(EventRows.timeseriesRow(named(event("a" + m, minute + 1_000, m), metric)));
            before.add(EventRows.timeseriesRow(named(event("b" + m, minute + 2_000, m + 1), metric)));
            CsrEvent late = named(event("c" + m, minute + 30_000, m + 2), metric);
            lateTimeseries.add(EventRows.timeseriesRow(late));
            lateRows.add(new TableRow("late_events", "{\"company_id\":\"acme\",\"metric\":\"" + metric
                    + "\",\"event_id\":\"c" + m + "\",\"occurred_at\":\"" + RowFormat.dateTime(late.occurredAtMs)
                    + "\",\"value\":" + late.value + ",\"window_size\":\"1m\",\"received_at\":\"2026-11-27 12:00:00\"}"));
        }
        db.access().insertJsonEachRow("metrics_timeseries", lines(before));
        try (ClickHouseCommitter committer = committer()) {
            committer.commit(new ArrayList<>(List.of(new FakeCommitRequest(committable("late_events", lateRows)),
                    new FakeCommitRequest(committable("metrics_timeseries", lateTimeseries)))));
        }

        List<JsonNode> windows = db.access().query("SELECT metric, count, sum, version FROM metric_windows FINAL"
                + " WHERE company_id = 'acme' AND window_size = '1m' ORDER BY metric");
        assertThat(windows).hasSize(metrics);
        for (int m = 0; m < metrics; m++) {
            JsonNode w = windows.get(m);
            assertThat(w.get("metric").asText()).isEqualTo(String.format("m%03d", m));
            assertThat(w.get("count").asLong()).as("window of m%03d", m).isEqualTo(3);
            assertThat(w.get("sum").asDouble()).as("window of m%03d", m).isEqualTo(3.0 * m + 3);
            assertThat(w.get("version").asLong()).isEqualTo(UpdateVersion.recomputed(7));
        }
    }

    private static CsrEvent named(CsrEvent e, String metric) {
        e.name = metric;
        return e;
    }

    @Test
    void requestsOfTheLiveJobRecomputeASpanUnpublishedAndAnOpenWindowNotFinalButPublished() throws Exception {
        // history of 10:15 and 10:16 (a backfill committed it) and one live event of 10:15
        db.access().insertJsonEachRow("metrics_timeseries", lines(List.of(
                EventRows.timeseriesRow(event("h1", MINUTE + 1_000, 2)), EventRows.timeseriesRow(event("h2", MINUTE + 61_000, 3)),
                EventRows.timeseriesRow(event("l1", MINUTE + 2_000, 4)))));
        // a notice's span (10:00 .. 11:00, not published) and a firing of the still open hour (published, not final)
        long hour = Instant.parse("2026-11-27T10:00:00Z").toEpochMilli();
        List<TableRow> requests = List.of(
                io.csr.job.aggregate.RecomputeRequests.row("acme", "sroi", WindowSize.MINUTE, hour, hour + 3_600_000L, true, false,
                        io.csr.job.aggregate.RecomputeRequests.NOTICE, MINUTE),
                io.csr.job.aggregate.RecomputeRequests.row("acme", "sroi", WindowSize.HOUR, hour, hour + 3_600_000L, false, true,
                        io.csr.job.aggregate.RecomputeRequests.FIRING, MINUTE));
        try (ClickHouseCommitter committer = committer()) {
            committer.commit(new ArrayList<>(List.of(new FakeCommitRequest(committable("window_recomputes", requests)))));
        }
        List<JsonNode> minutes = db.access().query("SELECT toUnixTimestamp(window_start) AS ws, count, sum, version, final"
                + " FROM metric_windows FINAL WHERE window_size = '1m' ORDER BY window_start");
        assertThat(minutes).extracting(m -> m.get("count").asLong() + "/" + m.get("sum").asDouble() + "/v" + UpdateVersion.major(m.get("version").asLong())
                + "/" + m.get("final").asInt()).containsExactly("2/6.0/v5/1", "1/3.0/v3/1");
        JsonNode h = window("1h");
        assertThat(h.get("count").asLong()).isEqualTo(3);
        assertThat(h.get("version").asLong()).as("major 2·3, not final: the live job's clock had not passed 11:00")
                .isEqualTo(UpdateVersion.recomputed(6));
        assertThat(h.get("final").asInt()).isZero();
        assertThat(db.count("SELECT count() FROM metric_windows FINAL WHERE window_size = '1d'")).as("no request named the day").isZero();
        assertThat(db.count("SELECT count() FROM window_recomputes FINAL")).as("the requests stay as an audit trail").isEqualTo(2);
        long rows = db.count("SELECT count() FROM metric_windows");
        try (ClickHouseCommitter committer = committer()) {           // the notice's span again: nothing is behind
            committer.commit(new ArrayList<>(List.of(new FakeCommitRequest(committable("window_recomputes", requests.subList(0, 1))))));
        }
        assertThat(db.count("SELECT count() FROM metric_windows")).as("an unpublished span rewrites only windows that are behind")
                .isEqualTo(rows);
        try (Jedis redis = new Jedis(URI.create(REDIS_URL))) {
            List<StreamEntry> entries = redis.xrange(RedisStreams.updatesKey(prefix, "acme"), (StreamEntryID) null, null);
            assertThat(entries).as("only the request that asked for it is published").hasSize(1);
            JsonNode data = Json.mapper().readTree(entries.get(0).getFields().get(RedisStreams.FIELD_DATA));
            assertThat(data.get("window").asText()).isEqualTo("1h");
            assertThat(data.get("count").asLong()).isEqualTo(3);
            assertThat(data.get("final").asBoolean()).isFalse();
        }
    }

    /**
     * The race the notice's own recomputation closes: the backfill recomputed 10:15 over its 2 history rows and the 1
     * live row committed by then (major 7); the live job, before it read the notice, fired the window from state
     * with 4 live events and committed that after the backfill's recomputation: major 9, above it, without history.
     * The notice's span request, committed after that firing, rewrites the window with all 6 rows.
     */
    @Test
    void theNoticesSpanRepairsAWindowWhoseStateFiringBeatTheBackfillsRecomputation() throws Exception {
        List<CsrEvent> rows = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            rows.add(event("h" + i, MINUTE + 1_000 + i, 10));                 // history
        }
        for (int i = 0; i < 4; i++) {
            rows.add(event("l" + i, MINUTE + 20_000 + i, 1));                 // live
        }
        db.access().insertJsonEachRow("metrics_timeseries", lines(rows.stream().map(EventRows::timeseriesRow).toList()));
        db.access().execute("INSERT INTO metric_windows (company_id, metric, window_size, window_start, window_end, count, sum,"
                + " min, max, avg, p50, p75, p95, stddev, version, final) VALUES"
                + " ('acme', 'sroi', '1m', toDateTime('2026-11-27 10:15:00', 'UTC'), toDateTime('2026-11-27 10:16:00', 'UTC'),"
                + " 3, 21, 1, 10, 7, 10, 10, 10, 4.2, " + UpdateVersion.recomputed(7) + ", 1),"                    // the backfill's, over 2 + 1 rows
                + " ('acme', 'sroi', '1m', toDateTime('2026-11-27 10:15:00', 'UTC'), toDateTime('2026-11-27 10:16:00', 'UTC'),"
                + " 4, 4, 1, 1, 1, 1, 1, 1, 0, " + UpdateVersion.of(9, 4_321) + ", 1)");                          // the live job's, from state, later
        assertThat(window("1m").get("count").asLong()).as("the state firing hides history").isEqualTo(4);
        long hour = Instant.parse("2026-11-27T10:00:00Z").toEpochMilli();
        try (ClickHouseCommitter committer = committer()) {
            committer.commit(new ArrayList<>(List.of(new FakeCommitRequest(committable("window_recomputes", List.of(
                    io.csr.job.aggregate.RecomputeRequests.row("acme", "sroi", WindowSize.MINUTE, hour, hour + 3_600_000L, true,
                            false, io.csr.job.aggregate.RecomputeRequests.NOTICE, MINUTE)))))));
        }
        JsonNode w = window("1m");
        assertThat(w.get("count").asLong()).isEqualTo(6);
        assertThat(w.get("sum").asDouble()).isEqualTo(24.0);
        assertThat(w.get("version").asLong()).isEqualTo(UpdateVersion.recomputed(13));
    }

    @Test
    void aLongSpanIsCutIntoPartsOfAtMostTheMaximumSpan() {
        long day = Instant.parse("2026-11-01T00:00:00Z").toEpochMilli();
        var span = new WindowRecompute.Request("acme", "sroi", WindowSize.MINUTE, day, day + 30 * 86_400_000L, true, false);
        var parts = WindowRecompute.partsOf(List.of(span));
        assertThat(parts).hasSize(30);
        assertThat(parts).allMatch(p -> p.toMs() - p.first().startMs() <= WindowRecompute.maxPieceMs(WindowSize.MINUTE));
        assertThat(parts).allMatch(WindowRecompute.Part::onlyBehind);
        assertThat(parts.get(0).flags(day + 60_000L)).isNotNull();
        assertThat(parts.get(0).flags(day - 60_000L)).isNull();
    }

    @Test
    void windowsOfALateEventsBatchAndOfATimeseriesBatch() throws Exception {
        CsrEvent e = event("x", MINUTE + 30_000, 1);
        var late = WindowRecompute.windowsOf(committable("late_events", List.of(lateRow(e, "1h"))));
        assertThat(late).containsExactly(new WindowRecompute.WindowKey("acme", "sroi", WindowSize.HOUR,
                Instant.parse("2026-11-27T10:00:00Z").toEpochMilli()));
        var ts = WindowRecompute.windowsOf(committable("metrics_timeseries", List.of(EventRows.timeseriesRow(e))));
        assertThat(ts).extracting(WindowRecompute.WindowKey::size).containsExactly(WindowSize.MINUTE, WindowSize.HOUR, WindowSize.DAY);
    }
}
