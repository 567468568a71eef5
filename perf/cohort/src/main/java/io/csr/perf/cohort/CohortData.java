package io.csr.perf.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.userdays.UserDailyMetrics;

import java.util.List;
import java.util.Map;

/**
 * The benchmark's data set, generated inside ClickHouse (INSERT … SELECT FROM numbers, no client-side rows): one
 * company {@value #COMPANY}, {@link #METRICS} metrics, {@code users} users, {@code rows} observations spread over 2026
 * (deterministic hashes of the row number), and {@code cohorts} cohorts whose sizes grow geometrically from
 * {@code minSize} to {@code maxSize} members. Rows land as the job and the replication write them, the per-user daily
 * aggregates ({@code user_daily_metrics}) too: recomputed from the observations month by month, as the job's
 * corrections and the migration compute them.
 */
record CohortData(long rows, int users, int cohorts, int minSize, int maxSize) {
    static final String COMPANY = "bench";
    static final List<String> METRICS = List.of("sroi", "vis", "hours", "q2q_confidence", "sessions");
    static final long YEAR_START = 1_767_225_600L; // 2026-01-01T00:00:00Z
    static final long YEAR_SECONDS = 365L * 86_400;

    /** True when the database already holds exactly this data set (generation takes about a minute; reuse it). */
    boolean presentIn(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() AS c FROM metrics_timeseries") == rows
                && ch.queryLong("SELECT sum(count) AS c FROM user_daily_metrics FINAL") == ch.queryLong(
                        "SELECT count() AS c FROM metrics_timeseries FINAL WHERE user_id != ''")
                && ch.queryLong("SELECT count() AS c FROM cohorts") == cohorts
                && ch.queryLong("SELECT uniqExact(user_id) AS c FROM user_cohorts WHERE cohort_id = " + cohorts) == maxSize;
    }

    /**
     * The settings of the generating statements: a month lands as one part (the block an {@code INSERT … SELECT} writes
     * is squashed up to these sizes, so the month's rows are sorted and written once, and neither a merge nor the
     * compaction of {@code --layout compacted} rewrites them), the SELECT side may use both cores of the 2-core bench
     * machine (the server's default is 1), and each statement is in {@code system.query_log}.
     */
    static final Map<String, String> BULK = Map.of("min_insert_block_size_rows", "1000000000", "min_insert_block_size_bytes",
            "100000000000", "max_threads", "2", "log_queries", "1");

    void generate(ClickHouseAccess ch) {
        for (String table : List.of("metrics_timeseries", "user_cohorts", "cohorts", UserDailyMetrics.TABLE)) {
            ch.execute("TRUNCATE TABLE " + SqlLiteral.identifier(table));
        }
        String company = SqlLiteral.string(COMPANY);
        String metrics = METRICS.stream().map(SqlLiteral::string).reduce((a, b) -> a + ", " + b).orElseThrow();
        String ts = "(" + YEAR_START + " + intHash32(number * 7 + 1) % " + YEAR_SECONDS + ")";
        // month by month (one part each, see BULK): the rows are the same as one INSERT of every number would write
        long observed = 0;
        long fill = 0;
        for (int m = 0; m < 12; m++) {
            long t0 = System.nanoTime();
            ch.execute("INSERT INTO metrics_timeseries (company_id, metric, user_id, ts, ts_ms, value, event_id)"
                    + " SELECT " + company + ", arrayElement([" + metrics + "], (number % " + METRICS.size() + ") + 1),"
                    + " concat('u', toString(intHash32(number) % " + users + ")), toDateTime(" + ts + "), " + ts + " * 1000,"
                    + " (intHash32(number * 13 + 5) % 10000) / 100.0, concat('e', toString(number))"
                    + " FROM numbers(" + SqlLiteral.number(rows) + ") WHERE " + ts + " >= " + monthStart(m) + " AND " + ts + " < " + monthStart(m + 1),
                    BULK);
            long t1 = System.nanoTime();
            fillUserDays(ch, m);
            observed += t1 - t0;
            fill += System.nanoTime() - t1;
            System.out.printf("  month %d of 12: observations %.1f s, daily rows %.1f s%n", m + 1, (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        }
        System.out.printf("  observations %.1f s, daily rows %.1f s in all%n", observed / 1e9, fill / 1e9);
        // member k of cohort c is user (c*7919 + k*4729) mod users: distinct for k < users since 4729 is prime to 10^n
        ch.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id, joined_at, left_at, active, version)"
                + " SELECT c, " + company + ", concat('u', toString((c * 7919 + k * 4729) % " + users + ")),"
                + " toDateTime(" + YEAR_START + "), toDateTime(0), 1, 1"
                + " FROM (SELECT c, arrayJoin(range(toUInt32(round(" + minSize + " * pow(" + ((double) maxSize / minSize) + ", (c - 1) / "
                + Math.max(1, cohorts - 1) + "))))) AS k FROM (SELECT number + 1 AS c FROM numbers(" + cohorts + ")))");
        ch.execute("INSERT INTO cohorts (id, company_id, name, description, created_at, updated_at, deleted, version)"
                + " SELECT number + 1, " + company + ", concat('cohort ', toString(number + 1)), '', toDateTime(" + YEAR_START + "),"
                + " toDateTime(" + YEAR_START + "), 0, 1 FROM numbers(" + cohorts + ")");
    }

    /** The first second of month {@code m} of 2026 (0-based; 12 is 2027-01). */
    private static long monthStart(int m) {
        return java.time.YearMonth.of(2026, 1).plusMonths(m).atDay(1).atStartOfDay(java.time.ZoneOffset.UTC).toEpochSecond();
    }

    /** {@code user_daily_metrics} of month {@code m} (0-based) recomputed from its observations in one part (bounded memory). */
    static void fillUserDays(ClickHouseAccess ch, int m) {
        ch.execute("INSERT INTO " + UserDailyMetrics.TABLE + " (" + UserDailyMetrics.COLUMNS + ") "
                + UserDailyMetrics.recompute("ts >= toDateTime(" + monthStart(m) + ") AND ts < toDateTime(" + monthStart(m + 1) + ")"), BULK);
    }

    /** The most active parts any month of {@code metrics_timeseries} has. */
    /** Whether some month of {@code metrics_timeseries} is a merged part (what {@link #compact} leaves). */
    boolean anyMonthMerged(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() AS c FROM system.parts WHERE database = " + SqlLiteral.string(ch.database())
                + " AND table = 'metrics_timeseries' AND active AND level > 0") > 0;
    }

    long maxPartsPerMonth(ClickHouseAccess ch) {
        return ch.queryLong("SELECT max(c) AS c FROM (SELECT count() AS c FROM system.parts WHERE database = "
                + SqlLiteral.string(ch.database()) + " AND table = 'metrics_timeseries' AND active GROUP BY partition)");
    }

    /**
     * Merges every month of {@code metrics_timeseries} and {@code user_daily_metrics} into one merged part, as the job's
     * retention run leaves a month that many INSERTs wrote (RETENTION_COMPACT_MONTHS, {@code PartitionRetention}); returns
     * how many months it merged. A month that is already one part is merged too when an INSERT wrote it (level 0, as the
     * month-by-month generation leaves it): such a part may hold copies of a row, so every read of it needs FINAL, where
     * a merged part is read without ({@code ReadParts} in the gateway) — the layout the retention run leaves in production,
     * where a month is never one INSERT.
     */
    int compact(ClickHouseAccess ch) {
        int merged = 0;
        for (String table : List.of("metrics_timeseries", UserDailyMetrics.TABLE)) {
            for (var row : ch.query("SELECT partition, count() AS parts, min(level) AS level FROM system.parts WHERE database = "
                    + SqlLiteral.string(ch.database()) + " AND table = " + SqlLiteral.string(table) + " AND active GROUP BY partition ORDER BY partition")) {
                if (row.get("parts").asLong() > 1 || row.get("level").asLong() == 0) {
                    ch.execute("OPTIMIZE TABLE " + SqlLiteral.identifier(table) + " PARTITION " + SqlLiteral.number(row.get("partition").asLong()) + " FINAL");
                    merged++;
                }
            }
        }
        return merged;
    }
}
