package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.json.Json;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.aggregate.WindowSize;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.committer.CommitHook;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Window corrections: after a commit inserted rows of a trigger table, every window those rows belong to is recomputed
 * from {@code metrics_timeseries FINAL} and written to {@code metric_windows} with version 2·count + 1 (final), then
 * published as a live update ({@link CorrectionPublisher}).
 *
 * <p>Triggers: {@code late_events} in the live job (an event that missed its window's allowed lateness still counts),
 * {@code metrics_timeseries} in a backfill (every window touched by history). Why the result is exact and the
 * version wins:
 * <ul>
 *   <li>the committer runs this after inserting every batch of the commit, and the rows of one (company, metric) —
 *       its {@code metrics_timeseries} rows and its {@code late_events} rows — come from one window-operator subtask
 *       into one sink writer and committer, so every row of the window the job produced up to this checkpoint is in
 *       ClickHouse when the query runs;</li>
 *   <li>rows are only ever added to {@code metrics_timeseries} (retention drops whole months), so a later
 *       recomputation counts at least as many rows: equal count means the same rows and the same result, a larger
 *       count a higher version. The live operator's firings of that window counted fewer rows (the late one was not
 *       among them), so 2·count + 1 is above all of them;</li>
 *   <li>it is idempotent: a replay after a crash between this step and the ledger write computes the same rows, or
 *       more of them, and writes the same version or a higher one.</li>
 * </ul>
 * Percentiles come from {@code quantilesExact}, so a corrected window is exact, not a sketch estimate.
 */
public final class WindowRecompute implements CommitHook {
    private static final long serialVersionUID = 1L;
    private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    /**
     * Longest event-time span one recomputation query covers, per window size: late events are scattered, so windows
     * far apart get queries of their own, each reading only its stretch of the primary key (one query over everything
     * between the earliest and the latest window made ClickHouse scan days of a metric for a handful of minutes, and
     * cost the ingest benchmark ~10% while ClickHouse shared its cores).
     */
    static long maxSpanMs(WindowSize size) {
        return switch (size) {
            case MINUTE -> 3_600_000L;
            case HOUR -> 86_400_000L;
            case DAY -> 31L * 86_400_000L;
        };
    }

    private final Set<String> triggerTables;
    private final CorrectionPublisher publisher;

    /**
     * @param triggerTables tables whose committed rows trigger a recomputation of their windows: {@code late_events}
     *                      and/or {@code metrics_timeseries}
     * @param publisher     where corrected windows go as live updates ({@link CorrectionPublisher#NONE} for none)
     */
    public WindowRecompute(Set<String> triggerTables, CorrectionPublisher publisher) {
        for (String t : triggerTables) {
            if (!t.equals("late_events") && !t.equals("metrics_timeseries")) {
                throw new IllegalArgumentException("window corrections are triggered by late_events or metrics_timeseries rows, not '" + t + "'");
            }
        }
        this.triggerTables = Set.copyOf(triggerTables);
        this.publisher = publisher;
    }

    /** The live job's corrections: late_events rows trigger them. */
    public static WindowRecompute forLateEvents(CorrectionPublisher publisher) {
        return new WindowRecompute(Set.of("late_events"), publisher);
    }

    @Override
    public Action open(ClickHouseSettings clickHouse) {
        return new Runner(ClickHouseAccess.open(clickHouse), publisher.open());
    }

    /** One window: (company, metric, size, start). */
    public record WindowKey(String companyId, String metric, WindowSize size, long startMs) implements Comparable<WindowKey> {
        @Override
        public int compareTo(WindowKey o) {
            int c = companyId.compareTo(o.companyId);
            if (c == 0) c = metric.compareTo(o.metric);
            if (c == 0) c = size.compareTo(o.size);
            if (c == 0) c = Long.compare(startMs, o.startMs);
            return c;
        }
    }

    /** The windows the rows of {@code batch} belong to (the batch is a trigger table's JSONEachRow body). */
    static Set<WindowKey> windowsOf(ClickHouseCommittable batch) throws IOException {
        Set<WindowKey> out = new TreeSet<>();
        String body = new String(batch.payload(), StandardCharsets.UTF_8);
        for (String line : body.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode row = Json.mapper().readTree(line);
            String company = row.get("company_id").asText();
            String metric = row.get("metric").asText();
            if (batch.table().equals("late_events")) {
                WindowSize size = sizeOf(row.get("window_size").asText());
                long at = LocalDateTime.parse(row.get("occurred_at").asText(), DATE_TIME).toInstant(ZoneOffset.UTC).toEpochMilli();
                out.add(new WindowKey(company, metric, size, size.startOf(at)));
            } else {
                long at = row.get("ts_ms").asLong();
                for (WindowSize size : WindowSize.values()) {
                    out.add(new WindowKey(company, metric, size, size.startOf(at)));
                }
            }
        }
        return out;
    }

    static WindowSize sizeOf(String label) {
        for (WindowSize s : WindowSize.values()) {
            if (s.label().equals(label)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown window_size '" + label + "' (expected 1m, 1h or 1d)");
    }

    /**
     * The recomputation query of one (company, metric, size) over [fromMs, toMs): one row per window with data,
     * tagged with {@code part} (a UInt32 column) so that several share one UNION ALL request. Non-key filters stay
     * outside the FINAL subquery; every value is a validated literal.
     */
    static String query(int part, String companyId, String metric, WindowSize size, long fromMs, long toMs) {
        String bucket = switch (size) {
            case MINUTE -> "toStartOfMinute(ts)";
            case HOUR -> "toStartOfHour(ts)";
            case DAY -> "toStartOfDay(ts)";
        };
        return "SELECT toUInt32(" + part + ") AS part, toUInt64(toUnixTimestamp(ws)) AS ws_s, count() AS count,"
                + " sum(value) AS sum, min(value) AS min, max(value) AS max, avg(value) AS avg,"
                + " quantilesExact(0.5, 0.75, 0.95)(value) AS q, stddevPop(value) AS stddev"
                + " FROM (SELECT value, " + bucket + " AS ws FROM metrics_timeseries FINAL"
                + " WHERE company_id = " + SqlLiteral.string(companyId) + " AND metric = " + SqlLiteral.string(metric)
                + " AND ts >= " + SqlLiteral.dateTime(Instant.ofEpochMilli(fromMs))
                + " AND ts < " + SqlLiteral.dateTime(Instant.ofEpochMilli(toMs)) + ")"
                + " GROUP BY ws";
    }

    /**
     * Parts per request: each reads only its own stretch of the primary key, and one request for many of them spares
     * ClickHouse and the job an HTTP round trip per part (one per part was 4% of the job's CPU in the ingest
     * benchmark, where 1.5% of events are late); the SQL stays far below ClickHouse's 256 KiB max_query_size.
     */
    static final int PARTS_PER_QUERY = 100;

    /** One recomputation query part: the windows of one (company, metric, size) within one span. */
    record Part(WindowKey first, long toMs, Set<Long> wanted) {
    }

    /** The UNION ALL of {@code parts}, each tagged with its index in the list. */
    static String unionQuery(List<Part> parts) {
        StringBuilder sql = new StringBuilder("SELECT * FROM (");
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            sql.append(i == 0 ? "" : " UNION ALL ")
                    .append(query(i, p.first.companyId(), p.first.metric(), p.first.size(), p.first.startMs(), p.toMs));
        }
        return sql.append(")").toString();
    }

    /** The windows as query parts: per (company, metric, size), runs of windows within {@link #maxSpanMs}. */
    static List<Part> parts(Set<WindowKey> windows) {
        Map<String, List<WindowKey>> groups = new LinkedHashMap<>();
        for (WindowKey w : windows) {
            groups.computeIfAbsent(w.companyId() + "|" + w.metric() + "|" + w.size(), k -> new ArrayList<>()).add(w);
        }
        List<Part> parts = new ArrayList<>();
        for (List<WindowKey> group : groups.values()) {
            int i = 0;
            while (i < group.size()) {
                WindowKey first = group.get(i);
                Set<Long> wanted = new TreeSet<>();
                long to = first.startMs();
                while (i < group.size() && group.get(i).startMs() - first.startMs() < maxSpanMs(first.size())) {
                    wanted.add(group.get(i).startMs());
                    to = group.get(i).startMs() + first.size().millis();
                    i++;
                }
                parts.add(new Part(first, to, wanted));
            }
        }
        return parts;
    }

    private final class Runner implements Action {
        private final ClickHouseAccess clickHouse;
        private final CorrectionPublisher.Channel channel;

        Runner(ClickHouseAccess clickHouse, CorrectionPublisher.Channel channel) {
            this.clickHouse = clickHouse;
            this.channel = channel;
        }

        @Override
        public void afterInsert(List<ClickHouseCommittable> inserted) throws Exception {
            Set<WindowKey> windows = new TreeSet<>();
            for (ClickHouseCommittable batch : inserted) {
                if (triggerTables.contains(batch.table())) {
                    windows.addAll(windowsOf(batch));
                }
            }
            if (windows.isEmpty()) {
                return;
            }
            List<WindowFiring> corrected = recompute(windows);
            if (corrected.isEmpty()) {
                return;
            }
            // one INSERT per monthly partition, like the sink's batches (24.x's partitions-per-insert limit)
            Map<Integer, StringBuilder> byMonth = new TreeMap<>();
            for (WindowFiring w : corrected) {
                TableRow row = w.toTableRow();
                byMonth.computeIfAbsent(row.partition, m -> new StringBuilder()).append(row.json).append('\n');
            }
            for (StringBuilder body : byMonth.values()) {
                clickHouse.insertJsonEachRow("metric_windows", body.toString().getBytes(StandardCharsets.UTF_8));
            }
            channel.publish(corrected);
        }

        /**
         * Groups the windows by (company, metric, size) and spans of at most {@link #maxSpanMs}; one query part per
         * group, {@link #PARTS_PER_QUERY} parts per request.
         */
        private List<WindowFiring> recompute(Set<WindowKey> windows) {
            List<Part> parts = parts(windows);
            List<WindowFiring> out = new ArrayList<>();
            long now = System.currentTimeMillis();
            for (int from = 0; from < parts.size(); from += PARTS_PER_QUERY) {
                List<Part> chunk = parts.subList(from, Math.min(parts.size(), from + PARTS_PER_QUERY));
                for (JsonNode r : clickHouse.query(unionQuery(chunk))) {
                    Part p = chunk.get(r.get("part").asInt());
                    long start = r.get("ws_s").asLong() * 1000L;
                    if (p.wanted.contains(start)) {
                        out.add(CorrectedWindow.of(p.first.companyId(), p.first.metric(), p.first.size(), start, r, now));
                    }
                }
            }
            return out;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } finally {
                clickHouse.close();
            }
        }
    }
}
