package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.sketch.QuantileBins;
import io.csr.gateway.cohort.CohortParams.DateRange;
import io.csr.gateway.cohort.CohortParams.Interval;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.function.Function;

/**
 * The cohort figures, read from ClickHouse at query time, from one of two {@link Source sources} with the same
 * answers (by default per request the one that reads less, {@link #sourceFor}): the per-user daily aggregates
 * ({@code user_daily_metrics FINAL}, one row per member, metric and day: count, sum, min, max, sum of squares,
 * quantile bins), or every observation of {@code metrics_timeseries FINAL} in the
 * date range whose user is a member of the cohort now ({@code user_cohorts FINAL}, {@code active = 1}) of a cohort
 * that is not deleted ({@code cohorts FINAL}). FINAL collapses replayed sink batches, so nothing counts twice; filters
 * on columns outside a table's sorting key ({@code user_id}, {@code active}, {@code deleted}) stay outside the FINAL
 * subquery, where they see one row per key. Percentiles are exact ({@code quantilesExact}), stddev is the population
 * one (as the job's windows). Every value in the SQL is a validated parameter rendered by {@link SqlLiteral}.
 *
 * <p>Before either source, {@code metrics}, {@code overview}, {@code compare} and {@code top} read the whole months of
 * the range that the per-cohort monthly rows hold fresh ({@link CohortMonths}), and only the rest of the range from
 * the observations, in the same query ({@link #fromMonths}); {@code trends} reads those months' per-day counts and
 * sums ({@link #trendsFromMonths}).
 */
final class CohortQueries {
    private final ClickHouseAccess clickHouse;
    private final MembershipCache memberships;
    private final Source source;
    /** The per-cohort monthly rows, or null: the figures come from {@link #source} alone. */
    private final CohortMonths months;
    /** Answers given from the monthly rows (tests check the months were used, not silently passed over). */
    private final java.util.concurrent.atomic.AtomicLong monthlyAnswers = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong withoutFinal = new java.util.concurrent.atomic.AtomicLong();
    private final boolean mergedMonthsWithoutFinal;
    private final ReadParts.Reader partsReader;

    /**
     * Where the figures come from; both give the same answers. Contract 4's ranges are whole UTC days, which the daily
     * rows serve completely, so {@link #USER_DAYS} can answer every endpoint; {@link #OBSERVATIONS} is the fallback
     * (COHORT_DAILY_AGGREGATES=false) and the reference the tests compare with; {@link #CHEAPER} (the default) picks
     * one of them per request by the rows each would read.
     */
    enum Source {
        /** {@code user_daily_metrics FINAL}: cost grows with members × days with observations. */
        USER_DAYS,
        /** {@code metrics_timeseries FINAL}: cost grows with observations. */
        OBSERVATIONS,
        /** Per request, whichever of the two reads less for the months of its range ({@link #cheaper}). */
        CHEAPER
    }

    /**
     * A daily row costs ClickHouse about 1.6 times an observation row where the quantiles are read (metrics, trends,
     * overview, compare): it carries the quantile bins (two arrays, merged by {@code sumMap}) where an observation
     * carries one value. Measured as CPU time (user + system, from {@code system.query_log}, so that other work on the
     * machine does not count) on the benchmark's data, member filter and FINAL as the endpoints run them, largest
     * cohort: per row read, user days 0.19–0.29 µs, observations 0.12–0.17 µs, over 30 and 365 days, one metric and
     * all five (perf/results/cohort-2026-12-06-source-cpu.md).
     */
    static final double DAY_ROW_COST = 1.6;
    /**
     * {@code top} reads count and sum only, no bins: there a daily row costs about what an observation does (0.95–1.2
     * in the same measurement).
     */
    static final double DAY_ROW_COST_TOP = 1.0;

    /**
     * The source that reads less: the daily rows unless there are fewer than {@code dayRowCost} observations per daily
     * row. The benchmark's data has 1.03 (10M observations of 100k users over a year: a user-day holds one
     * observation), where the daily rows with their bins cost more than they save; a company whose users report many
     * values a day gains in proportion.
     */
    static Source cheaper(long observationRows, long userDayRows, double dayRowCost) {
        return userDayRows * dayRowCost <= observationRows ? Source.USER_DAYS : Source.OBSERVATIONS;
    }

    static Source cheaper(long observationRows, long userDayRows) {
        return cheaper(observationRows, userDayRows, DAY_ROW_COST);
    }

    /**
     * A row read without FINAL ({@link ReadParts}) costs about this share of one read with it: {@code top} over the
     * benchmark's 30 days, ClickHouse CPU per request (loaded machine, lowest of 5), observations 45 → 31 ms, daily rows
     * 48 → 22 ms. So where only one of the two tables is a merged part in the range's months (the daily rows of a month
     * written by one INSERT are one part of level 0, which may hold copies), its rows count at this share.
     */
    static final double FINAL_FREE_ROW_COST = 0.6;

    static Source cheaper(long observationRows, boolean observationsWithoutFinal, long userDayRows, boolean userDaysWithoutFinal,
                          double dayRowCost) {
        double observations = observationRows * (observationsWithoutFinal ? FINAL_FREE_ROW_COST : 1);
        double days = userDayRows * dayRowCost * (userDaysWithoutFinal ? FINAL_FREE_ROW_COST : 1);
        return days <= observations ? Source.USER_DAYS : Source.OBSERVATIONS;
    }

    /**
     * The source for a range: a fixed one, or for {@link Source#CHEAPER} by the rows the two tables hold in the range's
     * months (active parts in {@code system.parts}, of every server in the replicated layout, about a millisecond; all
     * companies of the database together, and rows of a replayed batch not yet merged count too: an estimate, and
     * either choice gives the same answer).
     */
    Source sourceFor(DateRange range) {
        return sourceFor(partsOf(range), range, DAY_ROW_COST);
    }

    /** The source for a range within the request's, from the parts read for the request ({@link ReadParts}). */
    private Source sourceFor(ReadParts parts, DateRange range, double dayRowCost) {
        if (source != Source.CHEAPER) {
            return source;
        }
        return cheaper(parts.rows(ReadParts.OBSERVATIONS, range), parts.withoutFinal(ReadParts.OBSERVATIONS, range),
                parts.rows(ReadParts.DAYS, range), parts.withoutFinal(ReadParts.DAYS, range), dayRowCost);
    }

    private Source sourceFor(ReadParts parts, DateRange range) {
        return sourceFor(parts, range, DAY_ROW_COST);
    }

    /**
     * The request's parts: read from {@code system.parts} (in the replicated layout the local tables' on every replica
     * of every shard, a Distributed table has none; or the last such read over the same months, {@link ReadParts.Reader})
     * unless the source is fixed and every read goes with FINAL.
     */
    private ReadParts partsOf(DateRange range) {
        return source == Source.CHEAPER || mergedMonthsWithoutFinal ? partsReader.of(range, !mergedMonthsWithoutFinal) : ReadParts.alwaysFinal();
    }

    /**
     * One request's reads: {@code answer} builds and runs them against the parts read first; when one of its reads went
     * without FINAL and the parts moved meanwhile, the request is read again with FINAL everywhere ({@link ReadParts}).
     */
    private <T> T read(DateRange range, Function<ReadParts, T> answer) {
        ReadParts parts = partsOf(range);
        afterPartsRead.run();
        T out = answer.apply(parts);
        if (parts.readWithoutFinal()) {
            if (partsReader.stillCurrent(parts)) {
                withoutFinal.incrementAndGet();
            } else {
                return answer.apply(parts.withFinal());
            }
        }
        return out;
    }

    /** Runs between a request's parts read and its queries: tests add a part there. */
    volatile Runnable afterPartsRead = () -> { };

    /** Answers that read some month without FINAL (its partition one merged part, unchanged through the query). */
    long answeredWithoutFinal() {
        return withoutFinal.get();
    }

    CohortQueries(ClickHouseAccess clickHouse, MembershipCache memberships, Source source) {
        this(clickHouse, memberships, source, null);
    }

    /**
     * @param months where not null, {@code metrics}, {@code overview}, {@code compare} and {@code top} read the whole
     *               months of a range that {@code cohort_month_metrics} holds fresh from there ({@link #fromMonths})
     */
    CohortQueries(ClickHouseAccess clickHouse, MembershipCache memberships, Source source, CohortMonths months) {
        this(clickHouse, memberships, source, months, false);
    }

    /**
     * @param mergedMonthsWithoutFinal whether a range whose months are each one merged part is read without FINAL
     *                                 ({@link ReadParts}); false reads everything with FINAL (the tests' reference)
     */
    CohortQueries(ClickHouseAccess clickHouse, MembershipCache memberships, Source source, CohortMonths months, boolean mergedMonthsWithoutFinal) {
        this.clickHouse = clickHouse;
        this.memberships = memberships;
        this.source = source;
        this.months = months;
        this.mergedMonthsWithoutFinal = mergedMonthsWithoutFinal;
        this.partsReader = new ReadParts.Reader(clickHouse);
    }

    /** How many answers came from the monthly rows so far. */
    long answeredFromMonths() {
        return monthlyAnswers.get();
    }

    /** A live (not deleted) cohort as replicated to ClickHouse. */
    record CohortRef(long id, String companyId, String name) {
    }

    /** The metrics shape of Contract 4 without its echo fields; statistics are null when {@code count} is 0. */
    record Figures(long users, long count, Double avg, Double min, Double max, Double p50, Double p75, Double p95, Double stddev) {
        static final Figures EMPTY = new Figures(0, 0, null, null, null, null, null, null, null);

        static Figures of(JsonNode r) {
            long count = r.get("count").asLong();
            if (count == 0) {
                return EMPTY;
            }
            JsonNode q = r.get("q");
            return new Figures(r.get("users").asLong(), count, r.get("avg").asDouble(), r.get("min").asDouble(),
                    r.get("max").asDouble(), q.get(0).asDouble(), q.get(1).asDouble(), q.get(2).asDouble(), r.get("stddev").asDouble());
        }
    }

    /**
     * The same figures merged from per-user days: count, min, max summed or folded exactly, avg = Σsum / Σcount, the
     * population stddev from Σsum and Σsum² (√(Σx²/n − (Σx/n)²)), users = distinct members with a row, and p50/p75/p95
     * from the merged quantile bins ({@code sumMap}) at the rank quantilesExact uses, within 0.5 %.
     */
    /** Rows as a map in their order: the key {@code key} reads from each, the figures {@code figures} reads. */
    private static <K> Map<K, Figures> byKey(List<JsonNode> rows, Function<JsonNode, K> key, Function<JsonNode, Figures> figures) {
        Map<K, Figures> out = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            out.put(key.apply(r), figures.apply(r));
        }
        return out;
    }

    private static String metricOf(JsonNode r) {
        return r.get("metric").asText();
    }

    private static Long cohortOf(JsonNode r) {
        return r.get("cohort_id").asLong();
    }

    static Figures ofDays(JsonNode r) {
        long count = r.get("count").asLong();
        if (count == 0) {
            return Figures.EMPTY;
        }
        JsonNode qs = r.get("qs");
        JsonNode keys = qs.get(0);
        JsonNode counts = qs.get(1);
        long[] k = new long[keys.size()];
        long[] c = new long[counts.size()];
        for (int i = 0; i < k.length; i++) {
            k[i] = keys.get(i).asLong();
            c[i] = counts.get(i).asLong();
        }
        double min = r.get("min").asDouble();
        double max = r.get("max").asDouble();
        double[] q = QuantileBins.quantiles(k, c, min, max, 0.5, 0.75, 0.95);
        double sum = r.get("sum").asDouble();
        double mean = sum / count;
        double variance = Math.max(0, r.get("sum_sq").asDouble() / count - mean * mean);
        return new Figures(r.get("users").asLong(), count, mean, min, max, q[0], q[1], q[2], Math.sqrt(variance));
    }

    record TrendRow(LocalDate periodStart, long count, double avg) {
    }

    record TopRow(long cohortId, long users, long count, double avg) {
    }

    private static final String FIGURES = "count() AS count, uniqExact(user_id) AS users, avg(value) AS avg, min(value) AS min,"
            + " max(value) AS max, quantilesExact(0.5, 0.75, 0.95)(value) AS q, stddevPop(value) AS stddev";

    /** The cohort when it exists, is not deleted and belongs to one of {@code companies}. */
    Optional<CohortRef> find(long id, Collection<String> companies) {
        if (companies.isEmpty()) {
            return Optional.empty();
        }
        String sql = "SELECT id, company_id, name FROM (SELECT id, company_id, name, deleted FROM cohorts FINAL"
                + " WHERE company_id IN " + SqlLiteral.stringList(companies) + " AND id = " + SqlLiteral.number(id) + ")"
                + " WHERE deleted = 0";
        return clickHouse.query(sql).stream().findFirst()
                .map(r -> new CohortRef(r.get("id").asLong(), r.get("company_id").asText(), r.get("name").asText()));
    }

    /**
     * Those of {@code ids} that exist, are not deleted and belong to {@code companyId}, by id: one query for all of
     * them (compare asks for up to 10, which were 10 round trips of a {@code cohorts FINAL} each).
     */
    Map<Long, CohortRef> find(Collection<Long> ids, String companyId) {
        Map<Long, CohortRef> out = new LinkedHashMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        String sql = "SELECT id, company_id, name FROM (SELECT id, company_id, name, deleted FROM cohorts FINAL"
                + " WHERE company_id = " + SqlLiteral.string(companyId) + " AND id IN " + SqlLiteral.numberList(ids) + ")"
                + " WHERE deleted = 0";
        for (JsonNode r : clickHouse.query(sql)) {
            out.put(r.get("id").asLong(), new CohortRef(r.get("id").asLong(), r.get("company_id").asText(), r.get("name").asText()));
        }
        return out;
    }

    /** Live cohorts of a company by id. */
    Map<Long, CohortRef> cohortsOf(String companyId) {
        String sql = "SELECT id, company_id, name FROM (SELECT id, company_id, name, deleted FROM cohorts FINAL"
                + " WHERE company_id = " + SqlLiteral.string(companyId) + ") WHERE deleted = 0 ORDER BY id";
        Map<Long, CohortRef> out = new LinkedHashMap<>();
        for (JsonNode r : clickHouse.query(sql)) {
            out.put(r.get("id").asLong(), new CohortRef(r.get("id").asLong(), companyId, r.get("name").asText()));
        }
        return out;
    }

    /** Parallel FINAL slices of one observations read (see {@link #observations}). */
    private static final int SLICES = 2;

    /**
     * {@link #SLICES} for a read with FINAL, which 18.16 reads in one stream; one for a read without, which ClickHouse
     * reads in parallel streams by itself: a slice with a member filter runs the memberships subquery once more (30-day
     * compare of 7 cohorts on the benchmark's data: 500k → 385k rows read).
     */
    private static int slices(String table) {
        return table.endsWith(" FINAL") ? SLICES : 1;
    }

    /** The per-user-day figures before the merge's last step ({@link #ofDays}). */
    private static final String DAY_FIGURES = "sum(d_count) AS count, uniqExact(user_id) AS users, sum(d_sum) AS sum, min(d_min) AS min,"
            + " max(d_max) AS max, sum(d_sum_sq) AS sum_sq, sumMap(d_keys, d_counts) AS qs";
    /** Renamed, so that the aggregates above may take the columns' own names (ClickHouse resolves aliases first). */
    private static final String DAY_COLUMNS = "user_id, count AS d_count, sum AS d_sum, min AS d_min, max AS d_max, sum_sq AS d_sum_sq,"
            + " q_keys AS d_keys, q_counts AS d_counts";

    Figures metrics(CohortRef cohort, String metric, DateRange range) {
        return read(range, parts -> metrics(parts, cohort, metric, range));
    }

    private Figures metrics(ReadParts parts, CohortRef cohort, String metric, DateRange range) {
        Optional<List<JsonNode>> monthly = fromMonths(parts, cohort.companyId(), List.of(cohort.id()), metric, range, "");
        if (monthly.isPresent()) {
            return ofDays(monthly.get().get(0));
        }
        if (sourceFor(parts, range) == Source.USER_DAYS) {
            String sql = "SELECT " + DAY_FIGURES + " FROM (" + memberDays(parts, cohort.companyId(), List.of(cohort.id()), metric, range,
                    DAY_COLUMNS) + ")";
            return ofDays(clickHouse.query(sql).get(0));
        }
        String sql = "SELECT " + FIGURES + " FROM (" + memberObservations(parts, cohort, metric, range, "user_id, value") + ")";
        return Figures.of(clickHouse.query(sql).get(0));
    }

    /** Figures of every metric the cohort's members have observations of in the range, by metric name. */
    Map<String, Figures> overview(CohortRef cohort, DateRange range) {
        return read(range, parts -> overview(parts, cohort, range));
    }

    private Map<String, Figures> overview(ReadParts parts, CohortRef cohort, DateRange range) {
        Optional<List<JsonNode>> monthly = fromMonths(parts, cohort.companyId(), List.of(cohort.id()), null, range, "metric");
        if (monthly.isPresent()) {
            return byKey(monthly.get(), CohortQueries::metricOf, CohortQueries::ofDays);
        }
        if (sourceFor(parts, range) == Source.USER_DAYS) {
            String sql = "SELECT metric, " + DAY_FIGURES + " FROM (" + memberDays(parts, cohort.companyId(), List.of(cohort.id()), null, range,
                    "metric, " + DAY_COLUMNS) + ") GROUP BY metric ORDER BY metric";
            return byKey(clickHouse.query(sql), CohortQueries::metricOf, CohortQueries::ofDays);
        }
        String sql = "SELECT metric, " + FIGURES + " FROM (" + memberObservations(parts, cohort, null, range, "metric, user_id, value") + ")"
                + " GROUP BY metric ORDER BY metric";
        return byKey(clickHouse.query(sql), CohortQueries::metricOf, Figures::of);
    }

    /** Periods that have observations, oldest first. */
    List<TrendRow> trends(CohortRef cohort, String metric, Interval interval, DateRange range) {
        return read(range, parts -> trends(parts, cohort, metric, interval, range));
    }

    private List<TrendRow> trends(ReadParts parts, CohortRef cohort, String metric, Interval interval, DateRange range) {
        Optional<List<TrendRow>> monthly = trendsFromMonths(parts, cohort, metric, interval, range);
        if (monthly.isPresent()) {
            return monthly.get();
        }
        String sql = sourceFor(parts, range) == Source.USER_DAYS
                ? "SELECT toString(" + interval.clickHouseFunction + "(day)) AS period, sum(d_count) AS count, sum(d_sum) / sum(d_count) AS avg"
                + " FROM (" + memberDays(parts, cohort.companyId(), List.of(cohort.id()), metric, range, "day, count AS d_count, sum AS d_sum") + ")"
                + " GROUP BY period ORDER BY period"
                : "SELECT toString(" + interval.clickHouseFunction + "(ts)) AS period, count() AS count, avg(value) AS avg"
                + " FROM (" + memberObservations(parts, cohort, metric, range, "ts, value") + ")"
                + " GROUP BY period ORDER BY period";
        List<TrendRow> out = new ArrayList<>();
        for (JsonNode r : clickHouse.query(sql)) {
            out.add(new TrendRow(period(r.get("period").asText()), r.get("count").asLong(), r.get("avg").asDouble()));
        }
        return out;
    }

    /**
     * The rows of {@code metrics_timeseries} in the partition of the range's last month (all companies; 0 when the parts
     * were not read): whether the open month is worth its per-cohort days ({@link CohortMonths#OPEN_MONTH_DAYS_FROM_ROWS}).
     */
    private static long openMonthRows(ReadParts parts, DateRange range) {
        return parts.rows(ReadParts.OBSERVATIONS, new DateRange(range.end(), range.end()));
    }

    /**
     * {@code trends} from the per-day counts and sums of the cohort's monthly rows for the range's whole months fresh
     * for it ({@link CohortMonths#planDays}), the open month's per-cohort day rows fresh for it (one row a day, planned
     * only above COHORT_OPEN_MONTH_DAYS_FROM_ROWS), and the rest of the range (the partial months at either end, today,
     * stale months and days) from the daily rows or the observations of its current members as without them, per day:
     * each period adds its days' counts and sums, so {@code count} is exact and {@code avg} = Σsum / Σcount (exact up
     * to floating-point addition order, as from the daily rows). A year is then 12 rows per metric instead of every
     * member's observations. Empty (the caller reads as without monthly rows) when the plan is (neither a whole month
     * nor a day of the range fresh: a range without a whole month is planned from days only), when a planned row is
     * gone or lacks its days, or when the membership changed while the rest was read.
     */
    private Optional<List<TrendRow>> trendsFromMonths(ReadParts parts, CohortRef cohort, String metric, Interval interval, DateRange range) {
        if (months == null) {
            return Optional.empty();
        }
        List<Long> ids = List.of(cohort.id());
        Optional<CohortMonths.Plan> planned = months.planDays(cohort.companyId(), ids, metric, range, openMonthRows(parts, range));
        if (planned.isEmpty()) {
            return Optional.empty();
        }
        CohortMonths.Plan plan = planned.get();
        String rows = "SELECT month, day_keys, day_counts, day_sum_keys, day_sums FROM " + CohortMonths.TABLE
                + plan.where(cohort.companyId(), metric);
        // per day: (day, count, sum, rows), the months' counts and sums as two ARRAY JOINs (a day whose sum is 0 has no
        // sum key), one planned row counted at its first day
        StringJoiner branches = new StringJoiner(" UNION ALL ");
        branches.add("SELECT addDays(month, k - 1) AS day, n, toFloat64(0) AS s, toUInt64(i = 1) AS r FROM (" + rows + ")"
                + " ARRAY JOIN day_keys AS k, day_counts AS n, arrayEnumerate(day_keys) AS i");
        branches.add("SELECT addDays(month, k - 1) AS day, toUInt64(0) AS n, s, toUInt64(0) AS r FROM (" + rows + ")"
                + " ARRAY JOIN day_sum_keys AS k, day_sums AS s");
        if (!plan.usedDays().isEmpty()) {
            // the open month's per-cohort days: one row a day
            branches.add("SELECT day, count AS n, sum AS s, toUInt64(1) AS r FROM " + CohortMonths.DAY_TABLE + plan.dayWhere(cohort.companyId(), metric));
        }
        for (DateRange r : plan.rest()) {
            branches.add(sourceFor(parts, r) == Source.USER_DAYS
                    ? "SELECT day, sum(d_count) AS n, sum(d_sum) AS s, toUInt64(0) AS r FROM ("
                    + memberDays(parts, cohort.companyId(), ids, metric, r, "day, count AS d_count, sum AS d_sum") + ") GROUP BY day"
                    : "SELECT toDate(ts) AS day, count() AS n, sum(value) AS s, toUInt64(0) AS r FROM ("
                    + memberObservations(parts, cohort, metric, r, "ts, value") + ") GROUP BY day");
        }
        List<JsonNode> result = clickHouse.query("SELECT toString(" + interval.clickHouseFunction + "(day)) AS period, sum(n) AS count,"
                + " sum(s) AS sum, sum(r) AS monthly_rows FROM (" + branches + ") GROUP BY period ORDER BY period");
        if (result.stream().mapToLong(r -> r.get("monthly_rows").asLong()).sum() != plan.expectedRows()
                || !months.memberMarks(cohort.companyId(), ids).equals(plan.memberMarks())) {
            return Optional.empty();
        }
        List<TrendRow> out = new ArrayList<>();
        for (JsonNode r : result) {
            long count = r.get("count").asLong();
            if (count > 0) {
                out.add(new TrendRow(period(r.get("period").asText()), count, r.get("sum").asDouble() / count));
            }
        }
        monthlyAnswers.incrementAndGet();
        return Optional.of(out);
    }

    /**
     * A period's first day as ClickHouse writes it. ClickHouse 18.16 writes day 0 (1970-01-01) as {@code 0000-00-00},
     * and clamps a period that would start before it (the week or month of early January 1970) to day 0.
     */
    static LocalDate period(String text) {
        return text.equals("0000-00-00") ? LocalDate.EPOCH : LocalDate.parse(text);
    }

    /**
     * Figures of several cohorts of one company in one scan: the observations are joined to the memberships of the
     * asked cohorts (a user in two of them counts in both), and only the rows of their members are read and merged
     * (the member filter as a PREWHERE inside FINAL, as in {@link #memberObservations}). Cohorts without observations
     * are absent from the map.
     */
    Map<Long, Figures> compare(String companyId, List<Long> cohortIds, String metric, DateRange range) {
        return read(range, parts -> compare(parts, companyId, cohortIds, metric, range));
    }

    private Map<Long, Figures> compare(ReadParts parts, String companyId, List<Long> cohortIds, String metric, DateRange range) {
        Optional<List<JsonNode>> monthly = fromMonths(parts, companyId, cohortIds, metric, range, "cohort_id");
        if (monthly.isPresent()) {
            return byKey(monthly.get(), CohortQueries::cohortOf, CohortQueries::ofDays);
        }
        if (sourceFor(parts, range) == Source.USER_DAYS) {
            String sql = "SELECT cohort_id, " + DAY_FIGURES
                    + " FROM (" + memberDays(parts, companyId, cohortIds, metric, range, DAY_COLUMNS) + ")"
                    + " ALL INNER JOIN (" + members(companyId, cohortIds, "cohort_id, user_id") + ") USING user_id"
                    + " GROUP BY cohort_id";
            return byKey(clickHouse.query(sql), CohortQueries::cohortOf, CohortQueries::ofDays);
        }
        if (parts.withoutFinal(ReadParts.OBSERVATIONS, range)) {
            // without FINAL the member filter saves no merge: every observation of the metric in the range is read once
            // and joined by the user's hash (18.16 joins a UInt64 key several times faster than a String), so the
            // memberships are read once, not once per slice and again for the join. 30-day compare of 7 cohorts on the
            // benchmark's data (loaded, median of 7): 500k → 279k rows read, 1.5 s → 0.27 s; of 2 small cohorts
            // about even. users counts distinct hashes (as top, collision odds about n²/2⁶⁵).
            String sql = "SELECT cohort_id, count() AS count, uniqExact(u) AS users, avg(value) AS avg, min(value) AS min,"
                    + " max(value) AS max, quantilesExact(0.5, 0.75, 0.95)(value) AS q, stddevPop(value) AS stddev"
                    + " FROM (SELECT cityHash64(user_id) AS u, value FROM (" + observations(parts, companyId, metric, range, "user_id, value") + "))"
                    + " ALL INNER JOIN (" + members(companyId, cohortIds, "cohort_id, cityHash64(user_id) AS u") + ") USING u"
                    + " GROUP BY cohort_id";
            return byKey(clickHouse.query(sql), CohortQueries::cohortOf, Figures::of);
        }
        String sql = "SELECT cohort_id, " + FIGURES
                + " FROM (" + memberObservations(parts, companyId, cohortIds, metric, range, "user_id, value") + ")"
                + " ALL INNER JOIN (" + members(companyId, cohortIds, "cohort_id, user_id") + ") USING user_id"
                + " GROUP BY cohort_id";
        return byKey(clickHouse.query(sql), CohortQueries::cohortOf, Figures::of);
    }

    /**
     * The company's live cohorts by average, highest first, ties by id. Observations are first reduced to one row per
     * user (count, sum), then joined to the memberships, so the join handles users × cohorts rows rather than
     * observations × cohorts; the average stays exact (sum of sums / sum of counts). The per-user rows are keyed by
     * {@code cityHash64(user_id)}: ClickHouse 18.16 groups and joins a UInt64 key several times faster than a String.
     * Two distinct ids of one company share a 64-bit hash with probability about n²/2⁶⁵ (3·10⁻¹⁰ for 100k users).
     *
     * <p>The join runs in the gateway against the company's {@link MembershipCache cached memberships} (never stale:
     * checked against the tables' parts on every call), so ClickHouse only computes the per-user rows, read as
     * RowBinary. When the company is not cached (more memberships than COHORT_MEMBERSHIP_CACHE_ROWS, or the cache is
     * off) ClickHouse joins. Measured on 2 cores (perf/cohort, 30-day range, 672k memberships): the join in ClickHouse
     * with String keys and ALL 216–297 ms, with UInt64 keys and ANY 125–200 ms; see docs/analytics.md for the gateway join.
     *
     * <p>The join is {@code ALL}, not {@code ANY}: the right side (per-user rows, {@code GROUP BY u}) holds one row per
     * key already, so ALL yields exactly one row per membership, which is what ANY meant on 18.16. From 20.x on
     * {@code ANY INNER JOIN} also keeps one row per key of the <em>left</em> side, so a user in two cohorts would count
     * in only one of them on a modern server; ALL means the same on both.
     */
    List<TopRow> top(String companyId, String metric, DateRange range, int limit) {
        return read(range, parts -> top(parts, companyId, metric, range, limit));
    }

    private List<TopRow> top(ReadParts parts, String companyId, String metric, DateRange range, int limit) {
        Optional<List<TopRow>> monthly = topFromMonths(parts, companyId, metric, range, limit);
        if (monthly.isPresent()) {
            return monthly.get();
        }
        String company = SqlLiteral.string(companyId);
        String perUser = sourceFor(parts, range, DAY_ROW_COST_TOP) == Source.USER_DAYS
                ? "SELECT cityHash64(user_id) AS u, sum(d_count) AS n, sum(d_sum) AS s FROM ("
                + days(parts, companyId, metric, range, "user_id, count AS d_count, sum AS d_sum", "") + ") GROUP BY u"
                : "SELECT cityHash64(user_id) AS u, count() AS n, sum(value) AS s FROM ("
                + observations(parts, companyId, metric, range, "user_id, value") + ") GROUP BY u";
        Optional<Memberships> cached = memberships.of(companyId, liveMemberships(company));
        if (cached.isPresent()) {
            Memberships.Ranking ranking = cached.get().ranking();
            // in the order of the hash, so the ranking joins them in one pass over the memberships (Ranking#add)
            clickHouse.queryRowBinary(perUser + " ORDER BY u", body -> {
                byte[] row = new byte[24]; // u UInt64, n UInt64, s Float64, little-endian
                while (MembershipCache.readFully(body, row)) {
                    ranking.add(MembershipCache.littleEndianLong(row, 0), MembershipCache.littleEndianLong(row, 8),
                            Double.longBitsToDouble(MembershipCache.littleEndianLong(row, 16)));
                }
            });
            return ranking.top(limit);
        }
        String sql = "SELECT cohort_id, count() AS users, sum(n) AS count, sum(s) / sum(n) AS avg"
                + " FROM (SELECT cohort_id, cityHash64(user_id) AS u FROM (" + liveMemberships(company) + "))"
                + " ALL INNER JOIN (" + perUser + ") USING u"
                + " GROUP BY cohort_id ORDER BY avg DESC, cohort_id ASC LIMIT " + SqlLiteral.number(limit);
        List<TopRow> out = new ArrayList<>();
        for (JsonNode r : clickHouse.query(sql)) {
            out.add(new TopRow(r.get("cohort_id").asLong(), r.get("users").asLong(), r.get("count").asLong(), r.get("avg").asDouble()));
        }
        return out;
    }

    /**
     * The figures from the per-cohort rows the plan holds fresh ({@link CohortMonths#plan}): the range's whole months
     * ({@code cohort_month_metrics}) and, above COHORT_OPEN_MONTH_DAYS_FROM_ROWS, the open month's days
     * ({@code cohort_day_metrics}); and the rest of the range from the observations of the current members, merged in
     * one query: counts and sums added, min and max folded, the quantile bins added ({@code sumMap}; the observations'
     * values binned as the rows' are), and the distinct members counted exactly ({@code uniqExactArray} over the hashes
     * of the members whose month or day mask has a used month's or day's bit, {@link CohortMonths.Plan#maskedUsers},
     * and the hashes of the rest's members). One row per value of {@code group} ("" for one row, "metric" or
     * "cohort_id"), in the shape {@link #ofDays} reads. Empty (the caller reads as without monthly rows) when the plan
     * is (neither a whole month nor a day of the range fresh for every asked cohort), when a planned row has gone
     * meanwhile (a newer computation of it was merged in), when a mask computation the plan read was dropped, or when
     * the membership changed while the rest was read.
     */
    private Optional<List<JsonNode>> fromMonths(ReadParts read, String companyId, List<Long> cohortIds, String metric, DateRange range,
                                                String group) {
        if (months == null) {
            return Optional.empty();
        }
        Optional<CohortMonths.Plan> planned = months.plan(companyId, cohortIds, metric, range, openMonthRows(read, range));
        if (planned.isEmpty()) {
            return Optional.empty();
        }
        CohortMonths.Plan plan = planned.get();
        String groupColumns = group.isEmpty() ? "" : group + ", ";
        boolean byCohort = group.equals("cohort_id");
        StringBuilder parts = new StringBuilder(CohortMonths.rows(companyId, plan, metric, groupColumns));
        // the distinct members of the used months: the members whose month mask has a used month's bit
        String masked = plan.maskedUsers(companyId, metric, members(companyId, cohortIds, "cityHash64(user_id)"));
        parts.append(" UNION ALL SELECT ").append(groupColumns).append("toUInt64(0) AS p_count, groupArray(u) AS p_us, toFloat64(0) AS p_sum,"
                        + " toFloat64('inf') AS p_min, toFloat64('-inf') AS p_max, toFloat64(0) AS p_sum_sq, emptyArrayInt32() AS p_keys,"
                        + " emptyArrayUInt64() AS p_counts, toUInt64(0) AS p_rows FROM ")
                .append(byCohort ? "(SELECT u FROM (" + masked + ")) ALL INNER JOIN (" + members(companyId, cohortIds, "cohort_id, cityHash64(user_id) AS u")
                        + ") USING u" : "(" + masked + ")")
                .append(" GROUP BY ").append(group.isEmpty() ? "metric" : group);
        if (!plan.rest().isEmpty()) {
            String columns = (byCohort ? "" : "metric, ") + "user_id, value, " + QuantileBins.sqlKey("value") + " AS qk";
            StringJoiner rest = new StringJoiner(" UNION ALL ");
            for (DateRange r : plan.rest()) {
                rest.add(memberObservations(read, companyId, cohortIds, metric, r, columns));
            }
            // joined to the memberships by the user's hash, as the months' users are: 18.16 joins a UInt64 key
            // several times faster than a String, and p_us holds the hashes anyway
            String source = byCohort
                    ? "(SELECT cityHash64(user_id) AS u, value, qk FROM (" + rest + ")) ALL INNER JOIN ("
                    + members(companyId, cohortIds, "cohort_id, cityHash64(user_id) AS u") + ") USING u"
                    : "(SELECT metric, cityHash64(user_id) AS u, value, qk FROM (" + rest + "))";
            parts.append(" UNION ALL SELECT ").append(groupColumns)
                    .append("count() AS p_count, groupUniqArray(u) AS p_us, sum(value) AS p_sum, min(value) AS p_min,"
                            + " max(value) AS p_max, sum(value * value) AS p_sum_sq, (sumMap([qk], [toUInt64(1)]) AS p_qs).1 AS p_keys,"
                            + " p_qs.2 AS p_counts, toUInt64(0) AS p_rows FROM ").append(source)
                    // grouped also for one row (by its one metric): an aggregate without GROUP BY over no rows still
                    // gives a row, whose min and max (0) would join the fold
                    .append(" GROUP BY ").append(group.isEmpty() ? "metric" : group);
        }
        String sql = "SELECT " + groupColumns + "sum(p_count) AS count, uniqExactArray(p_us) AS users, sum(p_sum) AS sum,"
                + " min(p_min) AS min, max(p_max) AS max, sum(p_sum_sq) AS sum_sq, sumMap(p_keys, p_counts) AS qs, sum(p_rows) AS monthly_rows"
                + " FROM (" + parts + ")" + (group.isEmpty() ? "" : " GROUP BY " + group + " HAVING count > 0 ORDER BY " + group);
        List<JsonNode> rows = clickHouse.query(sql);
        long seen = rows.stream().mapToLong(r -> r.get("monthly_rows").asLong()).sum();
        if (seen != plan.expectedRows() || !months.masksWhole(plan)) {
            return Optional.empty();
        }
        if (!months.memberMarks(companyId, cohortIds).equals(plan.memberMarks())) {
            return Optional.empty();
        }
        monthlyAnswers.incrementAndGet();
        return Optional.of(rows);
    }

    /**
     * {@code top} from the per-cohort rows of the whole months and open-month days the plan holds fresh for every live
     * cohort, and the rest of the range from the observations. Two queries: every cohort's count and sum (the planned
     * rows, and the rest reduced to one row per user and joined to the live memberships in ClickHouse with
     * {@code cityHash64} keys, as {@link #top}) rank the cohorts; then the distinct members of the {@code limit} ranked
     * first only (their members' hashes from the month and day masks of the used months and days, united with the
     * rest's), since counting them is most of the cost. Both read the same planned rows, and each checks it saw all of
     * them. Empty (the caller reads as without monthly rows) as for {@link #fromMonths}.
     */
    private Optional<List<TopRow>> topFromMonths(ReadParts read, String companyId, String metric, DateRange range, int limit) {
        if (months == null || !months.mayPlan(range, openMonthRows(read, range))) {
            return Optional.empty(); // before the live cohorts' read: a plan could use nothing
        }
        List<Long> live = new ArrayList<>(cohortsOf(companyId).keySet());
        Optional<CohortMonths.Plan> planned = months.plan(companyId, live, metric, range, openMonthRows(read, range));
        if (planned.isEmpty()) {
            return Optional.empty();
        }
        CohortMonths.Plan plan = planned.get();
        Optional<Memberships> cached = memberships.of(companyId, liveMemberships(SqlLiteral.string(companyId)));
        if (cached.isPresent()) {
            return topFromMonths(read, companyId, metric, limit, plan, live, cached.get());
        }
        StringBuilder parts = new StringBuilder("SELECT cohort_id, count AS p_count, sum AS p_sum, toUInt64(1) AS p_rows FROM "
                + CohortMonths.TABLE + plan.where(companyId, metric));
        if (!plan.usedDays().isEmpty()) {
            parts.append(" UNION ALL SELECT cohort_id, count AS p_count, sum AS p_sum, toUInt64(1) AS p_rows FROM ").append(CohortMonths.DAY_TABLE)
                    .append(plan.dayWhere(companyId, metric));
        }
        if (!plan.rest().isEmpty()) {
            StringJoiner rest = new StringJoiner(" UNION ALL ");
            for (DateRange r : plan.rest()) {
                rest.add(observations(read, companyId, metric, r, "user_id, value"));
            }
            parts.append(" UNION ALL SELECT cohort_id, sum(n) AS p_count, sum(s) AS p_sum, toUInt64(0) AS p_rows"
                    + " FROM (SELECT cityHash64(user_id) AS u, count() AS n, sum(value) AS s FROM (").append(rest).append(") GROUP BY u)")
                    .append(" ALL INNER JOIN (SELECT cohort_id, cityHash64(user_id) AS u FROM (")
                    .append(liveMemberships(SqlLiteral.string(companyId))).append(")) USING u GROUP BY cohort_id");
        }
        List<JsonNode> rows = clickHouse.query("SELECT cohort_id, sum(p_count) AS count, sum(p_sum) AS sum, sum(p_rows) AS monthly_rows"
                + " FROM (" + parts + ") GROUP BY cohort_id");
        if (rows.stream().mapToLong(r -> r.get("monthly_rows").asLong()).sum() != plan.expectedRows()) {
            return Optional.empty();
        }
        List<TopRow> ranked = new ArrayList<>();
        for (JsonNode r : rows) {
            long count = r.get("count").asLong();
            if (count > 0) {
                ranked.add(new TopRow(r.get("cohort_id").asLong(), 0, count, r.get("sum").asDouble() / count));
            }
        }
        ranked.sort(Comparator.comparingDouble(TopRow::avg).reversed().thenComparingLong(TopRow::cohortId));
        List<TopRow> first = ranked.subList(0, Math.min(limit, ranked.size()));
        if (first.isEmpty()) {
            monthlyAnswers.incrementAndGet();
            return Optional.of(List.of());
        }
        List<Long> ids = first.stream().map(TopRow::cohortId).toList();
        // the distinct members of the ranked first: those whose month mask has a used month's bit, and those with
        // observations in the rest of the range, each hash once, joined to the cohorts they belong to
        StringBuilder users = new StringBuilder("SELECT u FROM (" + plan.maskedUsers(companyId, metric,
                members(companyId, ids, "cityHash64(user_id)")) + ")");
        for (DateRange r : plan.rest()) {
            users.append(" UNION ALL SELECT cityHash64(user_id) AS u FROM (").append(memberObservations(read, companyId, ids, metric, r, "user_id"))
                    .append(")");
        }
        Map<Long, Long> usersOf = new java.util.HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, count() AS users FROM (SELECT u FROM (" + users + ") GROUP BY u)"
                + " ALL INNER JOIN (" + members(companyId, ids, "cohort_id, cityHash64(user_id) AS u") + ") USING u GROUP BY cohort_id")) {
            usersOf.put(r.get("cohort_id").asLong(), r.get("users").asLong());
        }
        if (!months.masksWhole(plan) || !months.memberMarks(companyId, live).equals(plan.memberMarks())) {
            return Optional.empty();
        }
        List<TopRow> out = new ArrayList<>();
        for (TopRow t : first) {
            if (!usersOf.containsKey(t.cohortId())) {
                return Optional.empty();
            }
            out.add(new TopRow(t.cohortId(), usersOf.get(t.cohortId()), t.count(), t.avg()));
        }
        monthlyAnswers.incrementAndGet();
        return Optional.of(out);
    }

    /**
     * {@code top} from the monthly rows with the company's {@link MembershipCache cached memberships}, joined in the
     * gateway as {@link #top} does: one query gives every user with observations in the range once — the users whose
     * month or day mask has a used month's or day's bit, and those with observations in the rest of the range, with
     * the rest's count and sum — which the ranking adds to the user's cohorts (users, and the rest's count and sum); the
     * planned month and day rows add each cohort's count and sum of the used months and days. Empty (the caller reads
     * without monthly rows) as
     * {@link #fromMonths}, and when a monthly row names a cohort the memberships do not hold.
     */
    private Optional<List<TopRow>> topFromMonths(ReadParts read, String companyId, String metric, int limit, CohortMonths.Plan plan,
                                                 List<Long> live, Memberships cached) {
        StringBuilder users = new StringBuilder("SELECT u, toUInt64(0) AS n, toFloat64(0) AS s FROM (" + plan.maskedUsers(companyId, metric, null)
                + ")");
        for (DateRange r : plan.rest()) {
            users.append(" UNION ALL SELECT cityHash64(user_id) AS u, toUInt64(1) AS n, value AS s FROM (")
                    .append(observations(read, companyId, metric, r, "user_id, value")).append(")");
        }
        Memberships.Ranking ranking = cached.ranking();
        clickHouse.queryRowBinary("SELECT u, sum(n) AS n, sum(s) AS s FROM (" + users + ") GROUP BY u ORDER BY u", body -> {
            byte[] row = new byte[24]; // u UInt64, n UInt64, s Float64, little-endian
            while (MembershipCache.readFully(body, row)) {
                ranking.add(MembershipCache.littleEndianLong(row, 0), MembershipCache.littleEndianLong(row, 8),
                        Double.longBitsToDouble(MembershipCache.littleEndianLong(row, 16)));
            }
        });
        long seen = 0;
        List<JsonNode> cohortRows = new ArrayList<>(months.readMonthRows("SELECT cohort_id, sum(count) AS count, sum(sum) AS sum,"
                + " count() AS monthly_rows FROM " + CohortMonths.TABLE + plan.where(companyId, metric) + " GROUP BY cohort_id"));
        if (!plan.usedDays().isEmpty()) {
            cohortRows.addAll(months.readRows(CohortMonths.DAY_TABLE, "SELECT cohort_id, sum(count) AS count, sum(sum) AS sum,"
                    + " count() AS monthly_rows FROM " + CohortMonths.DAY_TABLE + plan.dayWhere(companyId, metric) + " GROUP BY cohort_id"));
        }
        for (JsonNode r : cohortRows) {
            seen += r.get("monthly_rows").asLong();
            if (!ranking.addToCohort(r.get("cohort_id").asLong(), r.get("count").asLong(), r.get("sum").asDouble())) {
                return Optional.empty();
            }
        }
        if (seen != plan.expectedRows() || !months.masksWhole(plan) || !months.memberMarks(companyId, live).equals(plan.memberMarks())) {
            return Optional.empty();
        }
        monthlyAnswers.incrementAndGet();
        return Optional.of(ranking.top(limit));
    }

    /** (cohort_id, user_id) of the company's active memberships of live (not deleted) cohorts. */
    private static String liveMemberships(String companyLiteral) {
        return "SELECT cohort_id, user_id FROM (" + activeMemberships(companyLiteral, 0) + " UNION ALL " + activeMemberships(companyLiteral, 1) + ")"
                + " WHERE cohort_id IN"
                + " (SELECT id FROM (SELECT id, deleted FROM cohorts FINAL WHERE company_id = " + companyLiteral + ") WHERE deleted = 0)";
    }

    /**
     * Observations of a company (and metric, when given) in the range, deduplicated by FINAL; filters on key columns
     * only. ClickHouse 18.16 reads a FINAL query in one stream, so the range is cut in {@link #SLICES} slices read as
     * the branches of a UNION ALL, which run in parallel: a replayed duplicate has the same {@code ts} (it is in the
     * sorting key), so it always falls into the same slice and FINAL still collapses it. Measured on 2 cores, 30-day
     * range: overview p95 236 → 156 ms, metrics 78 → 60 ms (perf/results/cohort-*.json).
     */
    private static String observations(ReadParts parts, String companyId, String metric, DateRange range, String columns) {
        return observations(parts, companyId, metric, range, columns, "");
    }

    /**
     * The observations of the cohort's current members: the membership test is a PREWHERE inside each FINAL slice, so
     * only members' rows are read and merged (a 20k-member cohort of 100k users: a fifth of the rows). That is exact
     * because PREWHERE runs before FINAL's merge and copies of a row (a replayed batch) are identical rows of one event
     * with the same {@code user_id}: the filter keeps all copies or none, and FINAL collapses the kept ones.
     */
    private static String memberObservations(ReadParts parts, CohortRef cohort, String metric, DateRange range, String columns) {
        return memberObservations(parts, cohort.companyId(), List.of(cohort.id()), metric, range, columns);
    }

    /** The observations of the current members of any of {@code cohortIds} (see above). */
    private static String memberObservations(ReadParts parts, String companyId, List<Long> cohortIds, String metric, DateRange range,
                                             String columns) {
        return observations(parts, companyId, metric, range, columns, " PREWHERE user_id IN (" + members(companyId, cohortIds, "user_id") + ")");
    }

    private static String observations(ReadParts parts, String companyId, String metric, DateRange range, String columns, String prewhere) {
        String table = "metrics_timeseries" + parts.finalFor(ReadParts.OBSERVATIONS, range);
        long from = range.start().atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        long to = range.end().plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        int slices = slices(table);
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < slices; i++) {
            long a = from + (to - from) * i / slices;
            long b = i == slices - 1 ? to : from + (to - from) * (i + 1) / slices;
            sql.append(i == 0 ? "" : " UNION ALL ").append(observationSlice(table, companyId, metric, a, b, columns, prewhere));
        }
        return sql.toString();
    }

    private static String observationSlice(String table, String companyId, String metric, long fromSecond, long toSecond, String columns,
                                           String prewhere) {
        return "SELECT " + columns + " FROM " + table + prewhere + " WHERE company_id = " + SqlLiteral.string(companyId)
                + (metric == null ? "" : " AND metric = " + SqlLiteral.string(metric))
                // as epoch seconds: ClickHouse 18.16 parses the text '2106-01-01 00:00:00' (the end of a range ending on the
                // last accepted day, 2105-12-31) as 0, which made such a range silently empty
                + " AND ts >= toDateTime(" + fromSecond + ")"
                + " AND ts < toDateTime(" + toSecond + ")";
    }

    /**
     * The per-user days of the current members of any of {@code cohortIds}. {@code user_id} is in the table's sorting
     * key, so every version of a row has the same one and the member filter may run before FINAL (a PREWHERE, so only
     * members' rows are read and merged).
     */
    private static String memberDays(ReadParts parts, String companyId, List<Long> cohortIds, String metric, DateRange range, String columns) {
        return days(parts, companyId, metric, range, columns, " PREWHERE user_id IN (" + members(companyId, cohortIds, "user_id") + ")");
    }

    /**
     * Per-user days of a company (and metric) in the range, read in {@link #SLICES} day ranges as parallel UNION ALL
     * branches (as {@link #observations}): all versions of a row share its day, so each slice's FINAL is complete.
     */
    private static String days(ReadParts parts, String companyId, String metric, DateRange range, String columns, String prewhere) {
        String table = "user_daily_metrics" + parts.finalFor(ReadParts.DAYS, range);
        long from = range.start().toEpochDay();
        long to = range.end().toEpochDay() + 1;
        int slices = slices(table);
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < slices; i++) {
            long a = from + (to - from) * i / slices;
            long b = i == slices - 1 ? to : from + (to - from) * (i + 1) / slices;
            if (a >= b) {
                continue;
            }
            sql.append(sql.length() == 0 ? "" : " UNION ALL ")
                    .append("SELECT ").append(columns).append(" FROM ").append(table).append(prewhere)
                    .append(" WHERE company_id = ").append(SqlLiteral.string(companyId))
                    .append(metric == null ? "" : " AND metric = " + SqlLiteral.string(metric))
                    // both ends inclusive as Dates: the day after 2105-12-31 is past 18.16's Date range
                    .append(" AND day >= ").append(SqlLiteral.date(LocalDate.ofEpochDay(a)))
                    .append(" AND day <= ").append(SqlLiteral.date(LocalDate.ofEpochDay(b - 1)));
        }
        return sql.toString();
    }

    /**
     * One half (by cohort id parity) of a company's active memberships: all versions of a membership share its cohort
     * id, so each half's FINAL is complete, and the two halves read in parallel.
     */
    private static String activeMemberships(String companyLiteral, int parity) {
        return "SELECT cohort_id, user_id FROM (SELECT cohort_id, user_id, active FROM user_cohorts FINAL WHERE company_id = "
                + companyLiteral + " AND cohort_id % 2 = " + parity + ") WHERE active = 1";
    }

    /** Current members of the given cohorts; {@code active} is not in the sorting key, so it is filtered outside FINAL. */
    private static String members(String companyId, List<Long> cohortIds, String columns) {
        return "SELECT " + columns + " FROM (SELECT cohort_id, user_id, active FROM user_cohorts FINAL"
                + " WHERE company_id = " + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds) + ")"
                + " WHERE active = 1";
    }
}
