package io.csr.job.correction;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.json.Json;
import io.csr.common.userdays.UserDailyMetrics;
import io.csr.job.aggregate.RecomputeRequests;
import io.csr.job.aggregate.UserDayFiring;
import io.csr.job.aggregate.WindowSize;
import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.committer.CommitHook;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Per-user day corrections (issue 25): after a commit inserted rows of a trigger table, the {@code user_daily_metrics}
 * rows of every (company, metric, day) they name are recomputed from {@code metrics_timeseries FINAL} inside
 * ClickHouse ({@code INSERT … SELECT}, nothing travels through the job) with version 2·count + 1, and only those whose
 * stored row has a lower version are written.
 *
 * <p>Triggers follow the day window's: {@code late_events} rows of size 1d (an event too late for its day: the window
 * operator no longer holds that day, so no row from state will follow) and {@code window_recomputes} rows of size 1d
 * (a day in a backfilled span, whose user days are never written from state, or a day held before per-user days
 * existed) in the live job; {@code metrics_timeseries} rows in a backfill, which writes no row from state at all.
 * Exact and winning for the reasons {@link WindowRecompute} gives: the rows of one (company, metric) reach
 * ClickHouse through one committer, so every row of the day the job produced up to this checkpoint is there; rows are
 * only ever added, so a later recomputation counts at least as many (equal count, equal figures; more, a higher
 * version); the window operator's rows of a day it holds completely count what it counted, 2·count, below the
 * recomputation of the same rows; and it is idempotent on replay.
 */
public final class UserDayRecompute implements CommitHook {
    private static final long serialVersionUID = 1L;
    private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final long DAY_MS = WindowSize.DAY.millis();

    private final Set<String> triggerTables;

    public UserDayRecompute(Set<String> triggerTables) {
        for (String t : triggerTables) {
            if (!t.equals("late_events") && !t.equals("metrics_timeseries") && !t.equals(RecomputeRequests.TABLE)) {
                throw new IllegalArgumentException("user-day corrections are triggered by late_events, metrics_timeseries or "
                        + RecomputeRequests.TABLE + " rows, not '" + t + "'");
            }
        }
        this.triggerTables = Set.copyOf(triggerTables);
    }

    /** The live job's: late_events and window_recomputes rows of the day window. */
    public static UserDayRecompute forLateEvents() {
        return new UserDayRecompute(Set.of("late_events", RecomputeRequests.TABLE));
    }

    /** A backfill's: every day its metrics_timeseries rows touch. */
    public static UserDayRecompute forBackfill() {
        return new UserDayRecompute(Set.of("metrics_timeseries"));
    }

    @Override
    public Action open(ClickHouseSettings clickHouse) {
        ClickHouseAccess access = ClickHouseAccess.open(clickHouse);
        return new Action() {
            @Override
            public void afterInsert(List<ClickHouseCommittable> inserted) throws Exception {
                Map<String, TreeSet<Long>> days = new TreeMap<>();
                for (ClickHouseCommittable batch : inserted) {
                    if (triggerTables.contains(batch.table())) {
                        daysOf(batch, days);
                    }
                }
                if (!days.isEmpty()) {
                    access.requireCaughtUp(); // after a failover: never from a replica lacking committed rows
                }
                for (Map.Entry<String, TreeSet<Long>> e : days.entrySet()) {
                    int bar = e.getKey().indexOf('|');
                    for (long[] span : monthSpans(e.getValue())) {
                        access.execute(insertQuery(e.getKey().substring(0, bar), e.getKey().substring(bar + 1), span[0], span[1]));
                    }
                }
            }

            @Override
            public void close() {
                access.close();
            }
        };
    }

    /** Adds the (company|metric → day starts) the rows of {@code batch} name. */
    static void daysOf(ClickHouseCommittable batch, Map<String, TreeSet<Long>> days) throws IOException {
        String body = new String(batch.payload(), StandardCharsets.UTF_8);
        for (String line : body.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode row = Json.mapper().readTree(line);
            String key = row.get("company_id").asText() + "|" + row.get("metric").asText();
            switch (batch.table()) {
                case "late_events" -> {
                    if (WindowSize.DAY.label().equals(row.get("window_size").asText())) {
                        days.computeIfAbsent(key, k -> new TreeSet<>()).add(WindowSize.DAY.startOf(millis(row.get("occurred_at").asText())));
                    }
                }
                case RecomputeRequests.TABLE -> {
                    if (WindowSize.DAY.label().equals(row.get("window_size").asText())) {
                        long to = millis(row.get("to_ts").asText());
                        for (long d = WindowSize.DAY.startOf(millis(row.get("from_ts").asText())); d < to; d += DAY_MS) {
                            days.computeIfAbsent(key, k -> new TreeSet<>()).add(d);
                        }
                    }
                }
                default -> {
                    if (!row.path("user_id").asText("").isEmpty()) {
                        days.computeIfAbsent(key, k -> new TreeSet<>()).add(WindowSize.DAY.startOf(row.get("ts_ms").asLong()));
                    }
                }
            }
        }
    }

    /**
     * The days as [from, to) spans of consecutive days within one calendar month each: one INSERT per span touches one
     * partition (ClickHouse 24.x limits partitions per INSERT) and reads only its stretch of the primary key.
     */
    static List<long[]> monthSpans(TreeSet<Long> days) {
        List<long[]> out = new ArrayList<>();
        long[] current = null;
        for (long d : days) {
            if (current != null && current[1] == d && month(d) == month(current[0])) {
                current[1] = d + DAY_MS;
            } else {
                current = new long[] {d, d + DAY_MS};
                out.add(current);
            }
        }
        return out;
    }

    private static int month(long ms) {
        LocalDate d = Instant.ofEpochMilli(ms).atOffset(ZoneOffset.UTC).toLocalDate();
        return d.getYear() * 100 + d.getMonthValue();
    }

    private static long millis(String clickHouseDateTime) {
        return LocalDateTime.parse(clickHouseDateTime, DATE_TIME).toInstant(ZoneOffset.UTC).toEpochMilli();
    }

    /** The user days of (company, metric) in [fromMs, toMs) recomputed from {@code metrics_timeseries FINAL}. */
    static String recomputeQuery(String companyId, String metric, long fromMs, long toMs) {
        return UserDailyMetrics.recompute("company_id = " + SqlLiteral.string(companyId) + " AND metric = " + SqlLiteral.string(metric)
                + " AND ts >= " + SqlLiteral.dateTime(Instant.ofEpochMilli(fromMs))
                + " AND ts < " + SqlLiteral.dateTime(Instant.ofEpochMilli(toMs)));
    }

    /** {@link #recomputeQuery} written where the stored row is behind it (or missing). */
    static String insertQuery(String companyId, String metric, long fromMs, long toMs) {
        String columns = UserDailyMetrics.COLUMNS;
        return "INSERT INTO " + UserDayFiring.TABLE + " (" + columns + ") SELECT " + columns + " FROM ("
                + recomputeQuery(companyId, metric, fromMs, toMs) + ") ANY LEFT JOIN (SELECT day, user_id, version AS stored FROM "
                + UserDayFiring.TABLE + " FINAL WHERE company_id = " + SqlLiteral.string(companyId)
                + " AND metric = " + SqlLiteral.string(metric)
                + " AND day >= " + SqlLiteral.date(LocalDate.ofEpochDay(Math.floorDiv(fromMs, DAY_MS)))
                + " AND day < " + SqlLiteral.date(LocalDate.ofEpochDay(Math.floorDiv(toMs, DAY_MS))) + ") USING (day, user_id)"
                + " WHERE stored < version";
    }
}
