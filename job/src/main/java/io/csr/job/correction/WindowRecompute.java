package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.json.Json;
import io.csr.job.aggregate.RecomputeRequests;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.aggregate.WindowSize;
import io.csr.job.rows.UpdateVersion;
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
 * from {@code metrics_timeseries FINAL} and written to {@code metric_windows} with version major 2·count + 1 (final)
 * and the recomputation's tag ({@link UpdateVersion#recomputed}), then
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
 *       among them), so major 2·count + 1 is above all of them;</li>
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
            if (!t.equals("late_events") && !t.equals("metrics_timeseries") && !t.equals(RecomputeRequests.TABLE)) {
                throw new IllegalArgumentException("window corrections are triggered by late_events, metrics_timeseries or "
                        + RecomputeRequests.TABLE + " rows, not '" + t + "'");
            }
        }
        this.triggerTables = Set.copyOf(triggerTables);
        this.publisher = publisher;
    }

    /** The live job's corrections: late_events rows and window_recomputes requests trigger them. */
    public static WindowRecompute forLateEvents(CorrectionPublisher publisher) {
        return new WindowRecompute(Set.of("late_events", RecomputeRequests.TABLE), publisher);
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

    /**
     * A request to recompute the windows of one (company, metric, size) that start in [fromMs, toMs), written final
     * (version major 2·count + 1) or not (2·count), and published as live updates or not.
     */
    record Request(String companyId, String metric, WindowSize size, long fromMs, long toMs, boolean isFinal, boolean publish) {
        static Request window(WindowKey w) {
            return new Request(w.companyId(), w.metric(), w.size(), w.startMs(), w.startMs() + w.size().millis(), true, true);
        }

        boolean holds(long startMs) {
            return fromMs <= startMs && startMs < toMs;
        }
    }

    /** The windows the rows of {@code batch} belong to (a late_events or metrics_timeseries JSONEachRow body). */
    static Set<WindowKey> windowsOf(ClickHouseCommittable batch) throws IOException {
        Set<WindowKey> out = new TreeSet<>();
        for (Request r : requestsOf(batch)) {
            if (r.toMs() - r.fromMs() == r.size().millis()) {
                out.add(new WindowKey(r.companyId(), r.metric(), r.size(), r.fromMs()));
            }
        }
        return out;
    }

    /** The recomputations the rows of {@code batch} ask for (a trigger table's JSONEachRow body). */
    static List<Request> requestsOf(ClickHouseCommittable batch) throws IOException {
        List<Request> out = new ArrayList<>();
        String body = new String(batch.payload(), StandardCharsets.UTF_8);
        for (String line : body.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode row = Json.mapper().readTree(line);
            String company = row.get("company_id").asText();
            String metric = row.get("metric").asText();
            switch (batch.table()) {
                case "late_events" -> {
                    WindowSize size = sizeOf(row.get("window_size").asText());
                    long at = millis(row.get("occurred_at").asText());
                    out.add(Request.window(new WindowKey(company, metric, size, size.startOf(at))));
                }
                case "window_recomputes" -> out.add(new Request(company, metric, sizeOf(row.get("window_size").asText()),
                        millis(row.get("from_ts").asText()), millis(row.get("to_ts").asText()),
                        row.get("final").asInt() == 1, row.get("publish").asInt() == 1));
                default -> {
                    long at = row.get("ts_ms").asLong();
                    for (WindowSize size : WindowSize.values()) {
                        out.add(Request.window(new WindowKey(company, metric, size, size.startOf(at))));
                    }
                }
            }
        }
        return out;
    }

    private static long millis(String clickHouseDateTime) {
        return LocalDateTime.parse(clickHouseDateTime, DATE_TIME).toInstant(ZoneOffset.UTC).toEpochMilli();
    }

    static WindowSize sizeOf(String label) {
        return WindowSize.of(label);
    }

    /**
     * The recomputation query of one (company, metric, size) over [fromMs, toMs): one row per window with data,
     * tagged with {@code part} (a UInt32 column) so that several share one UNION ALL request. Non-key filters stay
     * outside the FINAL subquery; every value is a validated literal.
     */
    static String query(int part, String companyId, String metric, WindowSize size, long fromMs, long toMs) {
        return query(part, companyId, metric, size, fromMs, toMs, false);
    }

    /**
     * As above; {@code onlyBehind}: only the windows whose stored row has a lower version than the recomputation's
     * final one (major 2·count + 1), so that recomputing a long span that is mostly right already returns and rewrites
     * only what is not.
     */
    static String query(int part, String companyId, String metric, WindowSize size, long fromMs, long toMs, boolean onlyBehind) {
        String recompute = recomputeQuery(part, companyId, metric, size, fromMs, toMs);
        if (!onlyBehind) {
            return recompute;
        }
        return "SELECT part, ws_s, count, sum, min, max, avg, q, stddev FROM (" + recompute + ") ANY LEFT JOIN (SELECT toUInt64(toUnixTimestamp(window_start)) AS ws_s,"
                + " version AS stored FROM metric_windows FINAL WHERE company_id = " + SqlLiteral.string(companyId)
                + " AND metric = " + SqlLiteral.string(metric) + " AND window_size = " + SqlLiteral.string(size.label())
                + " AND window_start >= " + SqlLiteral.dateTime(Instant.ofEpochMilli(fromMs))
                + " AND window_start < " + SqlLiteral.dateTime(Instant.ofEpochMilli(toMs)) + ") USING ws_s"
                + " WHERE stored < " + UpdateVersion.recomputedSql("2 * count + 1");
    }

    private static String recomputeQuery(int part, String companyId, String metric, WindowSize size, long fromMs, long toMs) {
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

    /**
     * One recomputation query part: the windows of one (company, metric, size) in [first.startMs, toMs) that one of
     * {@code wanted} asks for (whose flags decide how each is written).
     */
    record Part(WindowKey first, long toMs, List<Request> wanted) {
        /** Nothing here is published: windows already stored at least as complete need not come back at all. */
        boolean onlyBehind() {
            return wanted.stream().noneMatch(Request::publish) && wanted.stream().allMatch(Request::isFinal);
        }

        /** The request flags for the window starting at {@code startMs}, or null when no request holds it. */
        Request flags(long startMs) {
            boolean any = false;
            boolean isFinal = false;
            boolean publish = false;
            for (Request r : wanted) {
                if (r.holds(startMs)) {
                    any = true;
                    isFinal |= r.isFinal();
                    publish |= r.publish();
                }
            }
            return any ? new Request(first.companyId(), first.metric(), first.size(), startMs, startMs + first.size().millis(),
                    isFinal, publish) : null;
        }
    }

    /** The UNION ALL of {@code parts}, each tagged with its index in the list. */
    static String unionQuery(List<Part> parts) {
        StringBuilder sql = new StringBuilder("SELECT * FROM (");
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            sql.append(i == 0 ? "" : " UNION ALL ")
                    .append(query(i, p.first.companyId(), p.first.metric(), p.first.size(), p.first.startMs(), p.toMs,
                            p.onlyBehind()));
        }
        return sql.append(")").toString();
    }

    /** Single windows as query parts (all written final and published, as corrections are). */
    static List<Part> parts(Set<WindowKey> windows) {
        List<Request> requests = new ArrayList<>();
        for (WindowKey w : windows) {
            requests.add(Request.window(w));
        }
        return partsOf(requests);
    }

    /**
     * Longest piece of one span request (a backfill's notice) per query part: a span is contiguous, so reading a
     * long stretch at once costs nothing extra, and such parts return only the windows that are behind.
     */
    static long maxPieceMs(WindowSize size) {
        return switch (size) {
            case MINUTE -> 86_400_000L;
            case HOUR -> 31L * 86_400_000L;
            case DAY -> 366L * 86_400_000L;
        };
    }

    /**
     * The requests as query parts: per (company, metric, size), runs of requests starting within {@link #maxSpanMs}
     * of the run's first one; a span longer than a window is cut into pieces of at most {@link #maxPieceMs} first.
     */
    static List<Part> partsOf(List<Request> requests) {
        Map<String, List<Request>> groups = new TreeMap<>();
        for (Request r : requests) {
            long max = r.toMs() - r.fromMs() > r.size().millis() ? maxPieceMs(r.size()) : maxSpanMs(r.size());
            for (long from = r.fromMs(); from < r.toMs(); from += max) {
                groups.computeIfAbsent(r.companyId() + "|" + r.metric() + "|" + r.size().ordinal(), k -> new ArrayList<>())
                        .add(new Request(r.companyId(), r.metric(), r.size(), from, Math.min(r.toMs(), from + max), r.isFinal(), r.publish()));
            }
        }
        List<Part> parts = new ArrayList<>();
        for (List<Request> group : groups.values()) {
            group.sort(java.util.Comparator.comparingLong(Request::fromMs));
            int i = 0;
            while (i < group.size()) {
                Request first = group.get(i);
                List<Request> wanted = new ArrayList<>();
                long to = first.fromMs();
                while (i < group.size() && group.get(i).fromMs() - first.fromMs() < maxSpanMs(first.size())) {
                    wanted.add(group.get(i));
                    to = Math.max(to, group.get(i).toMs());
                    i++;
                }
                parts.add(new Part(new WindowKey(first.companyId(), first.metric(), first.size(), first.fromMs()), to, wanted));
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
            List<Request> requests = new ArrayList<>();
            for (ClickHouseCommittable batch : inserted) {
                if (triggerTables.contains(batch.table())) {
                    requests.addAll(requestsOf(batch));
                }
            }
            if (requests.isEmpty()) {
                return;
            }
            clickHouse.requireCaughtUp(); // after a failover: never from a replica lacking committed rows
            List<WindowFiring> published = new ArrayList<>();
            List<WindowFiring> corrected = recompute(requests, published);
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
            channel.publish(published);
        }

        /**
         * Groups the windows by (company, metric, size) and spans of at most {@link #maxSpanMs}; one query part per
         * group, {@link #PARTS_PER_QUERY} parts per request.
         */
        private List<WindowFiring> recompute(List<Request> requests, List<WindowFiring> published) {
            List<Part> parts = partsOf(requests);
            List<WindowFiring> out = new ArrayList<>();
            long now = System.currentTimeMillis();
            for (int from = 0; from < parts.size(); from += PARTS_PER_QUERY) {
                List<Part> chunk = parts.subList(from, Math.min(parts.size(), from + PARTS_PER_QUERY));
                for (JsonNode r : clickHouse.query(unionQuery(chunk))) {
                    Part p = chunk.get(r.get("part").asInt());
                    long start = r.get("ws_s").asLong() * 1000L;
                    Request flags = p.flags(start);
                    if (flags != null) {
                        WindowFiring w = CorrectedWindow.of(p.first.companyId(), p.first.metric(), p.first.size(), start, r,
                                flags.isFinal(), now);
                        out.add(w);
                        if (flags.publish()) {
                            published.add(w);
                        }
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
