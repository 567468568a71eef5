package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.sketch.QuantileBins;
import io.csr.gateway.cohort.CohortParams.DateRange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Per-cohort monthly figures ({@code cohort_month_metrics}, issue 25): for each live cohort and closed UTC month, the
 * figures of its current members' observations of each metric (count, sum, min, max, sum of squares, quantile bins,
 * the exact distinct members as a {@code uniqExact} state), so a year of one cohort is twelve rows per metric instead
 * of every member's observations.
 *
 * <p><b>Never stale.</b> Each computation of a (cohort, month) writes its metric rows and then one header row that
 * records what it read: the month's <em>input mark</em> (the names of the active parts of that partition of
 * {@code metrics_timeseries}: every INSERT creates a part with a new name and every merge replaces parts, so the same
 * names mean the same rows, and a replayed batch, a late event or a backfill changes them) and the cohort's
 * <em>member mark</em> (count and sum of {@code version} of its {@code user_cohorts FINAL} rows: a pair's version only
 * rises and a new pair adds one, so every join and leave changes it). Both are read before and after the computation
 * and nothing is recorded when they moved. A request uses a month only when, for every cohort it asks about, the
 * header's marks equal the current ones and all the header's metric rows are still visible; everything else of the
 * range is read from the observations as before, in the same query. A stale month costs speed, never exactness, and
 * no figure depends on a materialized view.
 */
final class CohortMonths implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CohortMonths.class);
    static final String TABLE = "cohort_month_metrics";
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final ClickHouseAccess clickHouse;
    private final Duration period;
    private volatile Thread scheduler;

    CohortMonths(ClickHouseAccess clickHouse, Duration period) {
        this.clickHouse = clickHouse;
        this.period = period;
    }

    /** Starts the scheduled refresh of every company's stale months (not when the period is zero). */
    CohortMonths start() {
        if (!period.isZero()) {
            scheduler = Thread.ofVirtual().name("csr-cohort-months").start(this::schedule);
        }
        return this;
    }

    private void schedule() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(period);
                for (JsonNode r : clickHouse.query("SELECT DISTINCT company_id FROM (SELECT company_id, deleted FROM cohorts FINAL)"
                        + " WHERE deleted = 0 ORDER BY company_id")) {
                    refresh(r.get("company_id").asText(), YearMonth.now(ZoneOffset.UTC));
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("cohort months: refresh failed, next attempt in {} s: {}", period.toSeconds(), e.toString());
            }
        }
    }

    @Override
    public void close() {
        Thread t = scheduler;
        if (t != null) {
            t.interrupt();
        }
    }

    /** The month's part names per partition ({@code YYYYMM}) of {@code metrics_timeseries}; a month without parts has "". */
    Map<YearMonth, String> inputMarks(Collection<YearMonth> months) {
        Map<YearMonth, String> out = new HashMap<>();
        for (YearMonth m : months) {
            out.put(m, "");
        }
        if (months.isEmpty()) {
            return out;
        }
        String ids = SqlLiteral.stringList(months.stream().map(CohortMonths::partition).toList());
        for (JsonNode r : clickHouse.query("SELECT partition_id, arrayStringConcat(arraySort(groupArray(name)), ',') AS names FROM "
                + clickHouse.systemParts() + " WHERE database = " + SqlLiteral.string(clickHouse.database())
                + " AND table = " + SqlLiteral.string(clickHouse.localTable("metrics_timeseries"))
                + " AND active AND partition_id IN " + ids + " GROUP BY partition_id")) {
            String p = r.get("partition_id").asText();
            out.put(YearMonth.of(Integer.parseInt(p.substring(0, 4)), Integer.parseInt(p.substring(4))), r.get("names").asText());
        }
        return out;
    }

    /** count:sum(version) of each cohort's membership rows ({@code user_cohorts FINAL}); "0:0" for a cohort without any. */
    Map<Long, String> memberMarks(String companyId, Collection<Long> cohortIds) {
        Map<Long, String> out = new HashMap<>();
        for (long id : cohortIds) {
            out.put(id, "0:0");
        }
        if (cohortIds.isEmpty()) {
            return out;
        }
        for (JsonNode r : clickHouse.query("SELECT cohort_id, count() AS n, sum(version) AS v FROM user_cohorts FINAL WHERE company_id = "
                + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds) + " GROUP BY cohort_id")) {
            out.put(r.get("cohort_id").asLong(), r.get("n").asLong() + ":" + r.get("v").asText());
        }
        return out;
    }

    static String partition(YearMonth m) {
        return String.format("%04d%02d", m.getYear(), m.getMonthValue());
    }

    /** The whole months inside the range, oldest first. */
    static List<YearMonth> wholeMonths(DateRange range) {
        List<YearMonth> out = new ArrayList<>();
        YearMonth m = YearMonth.from(range.start());
        if (range.start().getDayOfMonth() != 1) {
            m = m.plusMonths(1);
        }
        for (; !m.atEndOfMonth().isAfter(range.end()); m = m.plusMonths(1)) {
            out.add(m);
        }
        return out;
    }

    /**
     * What a request may read from the monthly rows: the months ({@code used}) fresh for every asked cohort, the
     * (cohort, month, refresh) of those rows, how many metric rows of {@code metric} (all when null) they hold, and the
     * days of the range left for the observations.
     */
    record Plan(List<YearMonth> used, String rowFilter, long expectedRows, List<DateRange> rest, Map<Long, String> memberMarks) {
        /** The condition selecting the planned rows, the cohorts first so that only their granules are read. */
        String where(String companyId, String metric) {
            return " WHERE company_id = " + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(memberMarks.keySet())
                    + (metric == null ? " AND metric != ''" : " AND metric = " + SqlLiteral.string(metric)) + " AND " + rowFilter;
        }
    }

    /** The plan for these cohorts, or empty when no whole month of the range is fresh for all of them. */
    Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range) {
        List<YearMonth> months = wholeMonths(range);
        if (months.isEmpty() || cohortIds.isEmpty()) {
            return Optional.empty();
        }
        Map<YearMonth, String> input = inputMarks(months);
        Map<Long, String> members = memberMarks(companyId, cohortIds);
        record Header(long refresh, long rows, String input, String members) {
        }
        Map<String, Header> headers = new HashMap<>();
        Map<String, long[]> seen = new HashMap<>(); // (cohort/month) -> {metric rows of the header's refresh, of those of metric}
        List<JsonNode> rows = clickHouse.query("SELECT cohort_id, toString(month) AS m, metric, refresh, count, input_mark, member_mark"
                + " FROM " + TABLE + " FINAL WHERE company_id = " + SqlLiteral.string(companyId)
                + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds)
                + " AND month IN (" + months.stream().map(m -> SqlLiteral.date(m.atDay(1))).collect(Collectors.joining(", ")) + ")");
        for (JsonNode r : rows) {
            if (r.get("metric").asText().isEmpty()) {
                headers.put(r.get("cohort_id").asLong() + "/" + r.get("m").asText(), new Header(r.get("refresh").asLong(),
                        r.get("count").asLong(), r.get("input_mark").asText(), r.get("member_mark").asText()));
            }
        }
        for (JsonNode r : rows) {
            String key = r.get("cohort_id").asLong() + "/" + r.get("m").asText();
            Header h = headers.get(key);
            if (!r.get("metric").asText().isEmpty() && h != null && h.refresh() == r.get("refresh").asLong()) {
                long[] c = seen.computeIfAbsent(key, k -> new long[2]);
                c[0]++;
                if (metric == null || metric.equals(r.get("metric").asText())) {
                    c[1]++;
                }
            }
        }
        List<YearMonth> used = new ArrayList<>();
        StringJoiner filter = new StringJoiner(", ");
        long expected = 0;
        for (YearMonth m : months) {
            boolean fresh = true;
            long monthRows = 0;
            StringJoiner monthFilter = new StringJoiner(", ");
            for (long id : cohortIds) {
                String key = id + "/" + m.atDay(1);
                Header h = headers.get(key);
                long[] c = seen.getOrDefault(key, new long[2]);
                if (h == null || !h.input().equals(input.get(m)) || !h.members().equals(members.get(id)) || c[0] != h.rows()) {
                    fresh = false;
                    break;
                }
                monthRows += c[1];
                monthFilter.add("(" + id + ", " + m.atDay(1).toEpochDay() + ", " + h.refresh() + ")");
            }
            if (fresh) {
                used.add(m);
                expected += monthRows;
                filter.add(monthFilter.toString());
            }
        }
        if (used.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Plan(used, "(cohort_id, toUInt16(month), refresh) IN (" + filter + ")", expected, rest(range, used), members));
    }

    /** The days of the range outside the used months, as ranges. */
    static List<DateRange> rest(DateRange range, List<YearMonth> used) {
        List<DateRange> out = new ArrayList<>();
        LocalDate from = range.start();
        for (YearMonth m : used) {
            if (from.isBefore(m.atDay(1))) {
                out.add(new DateRange(from, m.atDay(1).minusDays(1)));
            }
            from = m.atEndOfMonth().plusDays(1);
        }
        if (!from.isAfter(range.end())) {
            out.add(new DateRange(from, range.end()));
        }
        return out;
    }

    /**
     * Computes the stale (cohort, month) rows of every live cohort of the company for the months with observations
     * before {@code current} (the open month keeps changing; requests read it from the observations). Returns the
     * number of (cohort, month) headers written.
     */
    int refresh(String companyId, YearMonth current) {
        TreeSet<YearMonth> months = new TreeSet<>();
        for (JsonNode r : clickHouse.query("SELECT DISTINCT partition_id FROM " + clickHouse.systemParts() + " WHERE database = "
                + SqlLiteral.string(clickHouse.database()) + " AND table = " + SqlLiteral.string(clickHouse.localTable("metrics_timeseries"))
                + " AND active")) {
            String p = r.get("partition_id").asText();
            YearMonth m = YearMonth.of(Integer.parseInt(p.substring(0, 4)), Integer.parseInt(p.substring(4)));
            if (m.isBefore(current)) {
                months.add(m);
            }
        }
        List<Long> cohorts = new ArrayList<>();
        for (JsonNode r : clickHouse.query("SELECT id FROM (SELECT id, deleted FROM cohorts FINAL WHERE company_id = "
                + SqlLiteral.string(companyId) + ") WHERE deleted = 0 ORDER BY id")) {
            cohorts.add(r.get("id").asLong());
        }
        if (months.isEmpty() || cohorts.isEmpty()) {
            return 0;
        }
        int written = 0;
        DateRange all = new DateRange(months.first().atDay(1), months.last().atEndOfMonth());
        for (long cohort : cohorts) {
            List<YearMonth> fresh = plan(companyId, List.of(cohort), null, all).map(Plan::used).orElse(List.of());
            List<YearMonth> stale = months.stream().filter(m -> !fresh.contains(m)).toList();
            if (!stale.isEmpty()) {
                written += compute(companyId, cohort, stale);
            }
        }
        return written;
    }

    /**
     * Computes one cohort's figures for the given months in one query (a FINAL slice per month, run in parallel: every
     * copy of an observation lies in its month's partition), then records a header for every month whose marks did not
     * move meanwhile. Returns the headers written.
     */
    int compute(String companyId, long cohortId, List<YearMonth> months) {
        String company = SqlLiteral.string(companyId);
        Map<YearMonth, String> inputBefore = inputMarks(months);
        String membersBefore = memberMarks(companyId, List.of(cohortId)).get(cohortId);
        long refresh = System.currentTimeMillis() * 1_000_000L + (SEQUENCE.incrementAndGet() * 7919 + ThreadLocalRandom.current().nextInt(1_000)) % 1_000_000L;
        String members = "SELECT user_id FROM (SELECT user_id, active FROM user_cohorts FINAL WHERE company_id = " + company
                + " AND cohort_id = " + cohortId + ") WHERE active = 1";
        StringJoiner slices = new StringJoiner(" UNION ALL ");
        for (YearMonth m : months) {
            slices.add("SELECT toStartOfMonth(ts) AS m, metric, user_id, value, " + QuantileBins.sqlKey("value") + " AS qk"
                    + " FROM metrics_timeseries FINAL PREWHERE user_id IN (" + members + ") WHERE company_id = " + company
                    + " AND ts >= toDateTime(" + m.atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() + ")"
                    + " AND ts < toDateTime(" + m.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() + ")");
        }
        clickHouse.execute("INSERT INTO " + TABLE + " (company_id, cohort_id, month, metric, count, sum, min, max, sum_sq, q_keys, q_counts,"
                + " users, refresh) SELECT " + company + ", " + cohortId + ", m, metric, count(), sum(value), min(value), max(value),"
                + " sum(value * value), (sumMap([qk], [toUInt64(1)]) AS qs).1, qs.2, uniqExactState(cityHash64(user_id)), " + refresh
                + " FROM (" + slices + ") GROUP BY m, metric");
        Map<YearMonth, String> inputAfter = inputMarks(months);
        String membersAfter = memberMarks(companyId, List.of(cohortId)).get(cohortId);
        if (!membersAfter.equals(membersBefore)) {
            return 0;
        }
        Map<String, Long> rows = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT toString(month) AS m, count() AS n FROM " + TABLE + " WHERE company_id = " + company
                + " AND cohort_id = " + cohortId + " AND refresh = " + refresh + " GROUP BY m")) {
            rows.put(r.get("m").asText(), r.get("n").asLong());
        }
        StringJoiner headers = new StringJoiner(", ");
        int written = 0;
        for (YearMonth m : months) {
            if (inputAfter.get(m).equals(inputBefore.get(m))) {
                headers.add("(" + company + ", " + cohortId + ", " + SqlLiteral.date(m.atDay(1)) + ", '', "
                        + rows.getOrDefault(m.atDay(1).toString(), 0L) + ", " + SqlLiteral.string(inputBefore.get(m)) + ", "
                        + SqlLiteral.string(membersBefore) + ", " + refresh + ")");
                written++;
            }
        }
        if (written == 0) {
            return 0;
        }
        clickHouse.execute("INSERT INTO " + TABLE + " (company_id, cohort_id, month, metric, count, input_mark, member_mark, refresh) VALUES "
                + headers);
        return written;
    }

    /** The plan's rows as a subquery with the columns of a per-group partial figure (see CohortQueries). */
    static String rows(String companyId, Plan plan, String metric, String groupColumns) {
        return "SELECT " + groupColumns + "count AS p_count, users AS p_users, sum AS p_sum, min AS p_min, max AS p_max, sum_sq AS p_sum_sq,"
                + " q_keys AS p_keys, q_counts AS p_counts, toUInt64(1) AS p_rows FROM " + TABLE + plan.where(companyId, metric);
    }
}
