package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.gateway.cohort.CohortParams.DateRange;

import java.time.YearMonth;
import java.util.HashMap;
import java.util.Map;

/**
 * The active parts of {@code metrics_timeseries} and {@code user_daily_metrics} in the months of one request's range,
 * read once per request from {@code system.parts} (about a millisecond): how many rows each table holds there (which
 * source reads less, {@link CohortQueries#sourceFor}) and which ranges may be read without {@code FINAL}.
 *
 * <p><b>Without FINAL, and still exact.</b> FINAL collapses the copies of a row: copies in different parts, and copies
 * within one part that an INSERT wrote (18.16 does not collapse rows at insert time). A part that a merge wrote (level
 * above 0) holds one row per sorting key, since the merge applied the table's replacing rule to every row it read. A
 * month whose partition is exactly one such part (what the retention run's compaction leaves, {@code
 * RETENTION_COMPACT_MONTHS}) reads the same rows with and without FINAL; 18.16 reads FINAL in one stream that reads
 * and merges the sorting key's columns ({@code event_id} too) of every row the member filter keeps — about half of
 * {@code top}'s ClickHouse time over a month of the benchmark's data. A range is read without FINAL only when every
 * month it touches is such a month (or has no parts at all), in both tables alike.
 *
 * <p><b>Checked after the query.</b> A query reads the parts active when it starts. Part names never repeat (every
 * INSERT takes new block numbers; merges, mutations and drops replace parts), so when the same parts, by name and rows,
 * are active after the query as before it, the query read exactly those; a part added meanwhile, or its merged
 * successor, would show. When they moved and a read went without FINAL, {@link CohortQueries} reads the request again
 * with FINAL ({@link #withFinal}). The same rule as the per-cohort months' input mark ({@link CohortMonths}).
 */
final class ReadParts {
    static final String OBSERVATIONS = "metrics_timeseries";
    static final String DAYS = "user_daily_metrics";

    private record Partition(long parts, long minLevel, long rows) {
        /** Exactly one part, and one a merge wrote: one row per key. */
        boolean merged() {
            return parts == 1 && minLevel > 0;
        }
    }

    private final String sql;
    private final String stamp;
    private final Map<String, Partition> byMonth; // "<table>/<YYYYMM>"
    private final boolean withFinal;
    private boolean readWithoutFinal;

    private ReadParts(String sql, String stamp, Map<String, Partition> byMonth, boolean withFinal) {
        this.sql = sql;
        this.stamp = stamp;
        this.byMonth = byMonth;
        this.withFinal = withFinal;
    }

    /** Every read with FINAL, and no rows known (a fixed source needs none): no query. */
    static ReadParts alwaysFinal() {
        return new ReadParts(null, "", Map.of(), true);
    }

    /** The two tables' active parts in the range's months (every shard's in the replicated layout). */
    static ReadParts of(ClickHouseAccess clickHouse, DateRange range, boolean withFinal) {
        String from = SqlLiteral.string(CohortMonths.partition(YearMonth.from(range.start())));
        String to = SqlLiteral.string(CohortMonths.partition(YearMonth.from(range.end())));
        String sql = "SELECT table, partition_id, count() AS parts, min(level) AS level, sum(rows) AS rows,"
                + " arrayStringConcat(arraySort(groupArray(name)), ',') AS names FROM " + clickHouse.systemParts()
                + " WHERE database = " + SqlLiteral.string(clickHouse.database()) + " AND active AND table IN ("
                + SqlLiteral.string(clickHouse.localTable(OBSERVATIONS)) + ", " + SqlLiteral.string(clickHouse.localTable(DAYS)) + ")"
                + " AND partition_id >= " + from + " AND partition_id <= " + to + " GROUP BY table, partition_id ORDER BY table, partition_id";
        return read(clickHouse, sql, withFinal);
    }

    private static ReadParts read(ClickHouseAccess clickHouse, String sql, boolean withFinal) {
        String observations = clickHouse.localTable(OBSERVATIONS);
        StringBuilder stamp = new StringBuilder();
        Map<String, Partition> byMonth = new HashMap<>();
        for (JsonNode r : clickHouse.query(sql)) {
            String table = r.get("table").asText().equals(observations) ? OBSERVATIONS : DAYS;
            String month = r.get("partition_id").asText();
            byMonth.put(table + "/" + month, new Partition(r.get("parts").asLong(), r.get("level").asLong(), r.get("rows").asLong()));
            stamp.append(table).append('/').append(month).append('/').append(r.get("names").asText()).append('/')
                    .append(r.get("rows").asText()).append(' ');
        }
        return new ReadParts(sql, stamp.toString(), byMonth, withFinal);
    }

    /** The same parts, every read with FINAL: for reading a request again after its parts moved. */
    ReadParts withFinal() {
        return new ReadParts(sql, stamp, byMonth, true);
    }

    /** Rows the table's active parts hold in the range's months (all companies; an estimate for the choice of source). */
    long rows(String table, DateRange range) {
        long n = 0;
        for (YearMonth m = YearMonth.from(range.start()); !m.isAfter(YearMonth.from(range.end())); m = m.plusMonths(1)) {
            Partition p = byMonth.get(table + "/" + CohortMonths.partition(m));
            n += p == null ? 0 : p.rows();
        }
        return n;
    }

    /**
     * " FINAL", or "" when every month of the range is one merged part (or none) in the table; the caller then checks
     * {@link #stillCurrent} after its query.
     */
    String finalFor(String table, DateRange range) {
        if (!withoutFinal(table, range)) {
            return " FINAL";
        }
        readWithoutFinal = true;
        return "";
    }

    /** Whether the table's range would be read without FINAL: every month of it one merged part, or none. */
    boolean withoutFinal(String table, DateRange range) {
        if (withFinal) {
            return false;
        }
        for (YearMonth m = YearMonth.from(range.start()); !m.isAfter(YearMonth.from(range.end())); m = m.plusMonths(1)) {
            Partition p = byMonth.get(table + "/" + CohortMonths.partition(m));
            if (p != null && !p.merged()) {
                return false;
            }
        }
        return true;
    }

    /** Whether some read of this request went without FINAL. */
    boolean readWithoutFinal() {
        return readWithoutFinal;
    }

    /** Whether the same parts (names and rows) are active now as when these were read. */
    boolean stillCurrent(ClickHouseAccess clickHouse) {
        return sql == null || read(clickHouse, sql, withFinal).stamp.equals(stamp);
    }
}
