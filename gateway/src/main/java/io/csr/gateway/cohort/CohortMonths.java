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
    static final String MASKS = "user_month_masks";
    /** The open month's per-cohort days and the users' day masks (issue 25, {@code 011}/{@code 012}). */
    static final String DAY_TABLE = "cohort_day_metrics";
    static final String DAY_MASKS = "user_day_masks";
    /**
     * Up to this many cohorts with members, a request's plan reads the months' rows of every cohort of the company
     * (at most 500 × 12 months × 6 rows held in memory per table state and range of months), beyond it those of the
     * asked cohorts.
     */
    static final int COMPANY_WIDE_HEADERS = 500;
    private static final AtomicLong SEQUENCE = new AtomicLong();

    /**
     * At most about this many joined rows (observations × memberships of their users) per {@code INSERT … SELECT} of a
     * month's figures: the cohorts of a month are computed in batches of about this size, so no statement grows with
     * the company (1.7M joined rows took 5 s at load 12 on the 2-core machine; 100M observations make 56M a month).
     */
    static final long JOINED_ROWS_PER_STATEMENT = 4_000_000;
    /**
     * At most about this many observations per statement that stages a slice of a month's masks, and staged
     * (company, metric, user, slice) rows per statement that merges them into the year's masks.
     */
    static final long MASK_ROWS_PER_STATEMENT = 2_000_000;
    /**
     * The default of COHORT_OPEN_MONTH_DAYS_FROM_ROWS ({@link #openMonthDaysFrom}): the open month's days are read from
     * the per-cohort day rows and day masks ({@link #dayPlan}), and computed by the refresh ({@link #refreshDays}), only
     * when the month's partition of {@code metrics_timeseries} holds at least this many rows (all companies, from
     * system.parts, {@link ReadParts#rows}); below it the month is read from the daily rows or the observations as
     * before those existed. The day path costs its own reads (day headers, day marks, day-mask headers) and a day-mask
     * row per member, whatever the month holds. Measured quiet on 2026-12-07 with the benchmark's 100k users and 200
     * cohorts: at 0.85M rows in December (10M set) the observations answered faster (30-day top p95 72-76 ms, 141-160
     * through the days; compare 102-108, 195-242), at 8.3M (100M set) the days did (365-day overview p95 886 -> 194-201
     * ms). Between the two nothing is measured; 3M is about their geometric mean.
     *
     * <p>Not the company's own rows: no read a request makes before its plan counts them ({@code system.parts} has no
     * company; the day rows' counts are behind the day headers this threshold exists to spare), so they would cost a
     * round trip of their own on every request.
     */
    static final long OPEN_MONTH_DAYS_FROM_ROWS = Long.parseLong(io.csr.common.config.ConfigKey.COHORT_OPEN_MONTH_DAYS_FROM_ROWS.defaultValue());
    /** A month's masks are staged in at most this many slices (hours). */
    private static final int MAX_SLICES = 31 * 24;
    /** A pass running longer than this logs its progress, month by month. */
    private static final Duration PROGRESS = Duration.ofSeconds(10);

    private final ClickHouseAccess clickHouse;
    private final Duration period;
    private final long joinedRowsPerStatement;
    private final long maskRowsPerStatement;
    private volatile long openMonthDaysFromRows = OPEN_MONTH_DAYS_FROM_ROWS;
    /** Reads the open month's rows for the refresh's threshold check ({@link #openMonthRows}). */
    private final ReadParts.Reader parts;
    private volatile Thread scheduler;
    /** Statements the last {@link #compute} and {@link #computeMasks} issued (figures, masks): what a test checks. */
    volatile int lastFigureStatements;
    volatile int lastMaskStatements;

    CohortMonths(ClickHouseAccess clickHouse, Duration period) {
        this(clickHouse, period, JOINED_ROWS_PER_STATEMENT, MASK_ROWS_PER_STATEMENT);
    }

    /** With other statement sizes (a test splits a small data set as a large company's is split). */
    CohortMonths(ClickHouseAccess clickHouse, Duration period, long joinedRowsPerStatement, long maskRowsPerStatement) {
        this.clickHouse = clickHouse;
        this.period = period;
        this.joinedRowsPerStatement = joinedRowsPerStatement;
        this.maskRowsPerStatement = maskRowsPerStatement;
        this.parts = new ReadParts.Reader(clickHouse);
    }

    /**
     * With another threshold than {@link #OPEN_MONTH_DAYS_FROM_ROWS} (COHORT_OPEN_MONTH_DAYS_FROM_ROWS; a test reads a
     * small data set's open month through its days).
     */
    CohortMonths openMonthDaysFrom(long rows) {
        this.openMonthDaysFromRows = rows;
        return this;
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
                    refresh(r.get("company_id").asText(), LocalDate.now(ZoneOffset.UTC));
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

    private record Read(String stamp, List<JsonNode> rows) {
    }

    /** The last reads of {@code cohort_month_metrics} by their SQL, at most {@link #READS} (least recently used dropped). */
    private final Map<String, Read> monthReads = new java.util.LinkedHashMap<>(16, 0.75f, true); // guarded by itself
    private static final int READS = 256;

    /**
     * A query that reads {@code cohort_month_metrics} alone, answered from memory while the table's active parts are
     * those it was read from: the same part names (they never repeat) and rows mean the same rows, hence the same
     * answer. The stamp is read before and after the query and the answer kept only when both agree, as
     * {@link MembershipCache} does. Saves the headers' {@code FINAL} and top's monthly sums over every live cohort
     * (about 100 ms each with 200 cohorts on the benchmark's data) on every request while no refresh writes.
     */
    List<JsonNode> readMonthRows(String sql) {
        return readRows(TABLE, sql);
    }

    /** {@link #readMonthRows} for a query that reads {@code table} alone. */
    List<JsonNode> readRows(String table, String sql) {
        String stamp = partsStamp(table);
        synchronized (monthReads) {
            Read r = monthReads.get(sql);
            if (r != null && r.stamp().equals(stamp)) {
                return r.rows();
            }
        }
        List<JsonNode> rows = List.copyOf(clickHouse.query(sql));
        if (partsStamp(table).equals(stamp)) {
            synchronized (monthReads) {
                monthReads.put(sql, new Read(stamp, rows));
                if (monthReads.size() > READS) {
                    monthReads.remove(monthReads.keySet().iterator().next());
                }
            }
        }
        return rows;
    }

    /** count:sum(version) of each cohort's membership rows ({@code user_cohorts FINAL}); "0:0" for a cohort without any. */
    Map<Long, String> memberMarks(String companyId, Collection<Long> cohortIds) {
        return cohortIds.isEmpty() ? new HashMap<>() : memberMarks(companyMemberMarks(companyId), cohortIds);
    }

    /** The marks of these cohorts among a company's ({@link #companyMemberMarks}). */
    private static Map<Long, String> memberMarks(Map<Long, String> all, Collection<Long> cohortIds) {
        Map<Long, String> out = new HashMap<>();
        for (long id : cohortIds) {
            out.put(id, all.getOrDefault(id, "0:0"));
        }
        return out;
    }

    private record Marks(String stamp, Map<Long, String> byCohort) {
    }

    /** The last member marks read per company, valid while {@code user_cohorts} has the same parts (its stamp). */
    private final Map<String, Marks> memberMarkMemo = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The member marks of every cohort of the company. Read once per state of {@code user_cohorts}: the names and rows
     * of its active parts (a millisecond in {@code system.parts}) are the same exactly while its rows are (part names
     * never repeat), so they are read before and after the marks and the marks are kept for that stamp only when both
     * agree — the rule of {@link MembershipCache}. A {@code user_cohorts FINAL} over every membership of a large
     * company costs tens of milliseconds, and every request reads the marks twice.
     */
    private Map<Long, String> companyMemberMarks(String companyId) {
        String stamp = partsStamp("user_cohorts");
        Marks memo = memberMarkMemo.get(companyId);
        if (memo != null && memo.stamp().equals(stamp)) {
            return memo.byCohort();
        }
        Map<Long, String> out = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, count() AS n, sum(version) AS v FROM user_cohorts FINAL WHERE company_id = "
                + SqlLiteral.string(companyId) + " GROUP BY cohort_id")) {
            out.put(r.get("cohort_id").asLong(), r.get("n").asLong() + ":" + r.get("v").asText());
        }
        if (partsStamp("user_cohorts").equals(stamp)) {
            memberMarkMemo.put(companyId, new Marks(stamp, Map.copyOf(out)));
        }
        return out;
    }

    /** The names and rows of a table's active parts (every shard's in the replicated layout). */
    private String partsStamp(String table) {
        StringBuilder out = new StringBuilder();
        clickHouse.query("SELECT name, rows FROM " + clickHouse.systemParts() + " WHERE database = " + SqlLiteral.string(clickHouse.database())
                        + " AND table = " + SqlLiteral.string(clickHouse.localTable(table)) + " AND active ORDER BY name, rows")
                .forEach(r -> out.append(r.get("name").asText()).append('/').append(r.get("rows").asText()).append(' '));
        return out.toString();
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
     * days of the range left for the observations; and the same for the open month's days ({@code usedDays}) from
     * {@code cohort_day_metrics} and {@code user_day_masks} ({@code expectedRows} counts both tables' rows).
     */
    record Plan(List<YearMonth> used, String rowFilter, long expectedRows, List<DateRange> rest, Map<Long, String> memberMarks,
                String maskFilter, Map<Long, Long> maskRows, List<LocalDate> usedDays, String dayRowFilter, String dayMaskFilter,
                Map<Long, Long> dayMaskRows) {
        /** The condition selecting the planned rows, the cohorts first so that only their granules are read. */
        String where(String companyId, String metric) {
            return " WHERE company_id = " + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(memberMarks.keySet())
                    + (metric == null ? " AND metric != ''" : " AND metric = " + SqlLiteral.string(metric)) + " AND " + rowFilter;
        }

        /** The condition selecting the planned rows of {@code cohort_day_metrics}. */
        String dayWhere(String companyId, String metric) {
            return " WHERE company_id = " + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(memberMarks.keySet())
                    + (metric == null ? " AND metric != ''" : " AND metric = " + SqlLiteral.string(metric)) + " AND " + dayRowFilter;
        }

        /**
         * The users (u = cityHash64(user_id), with their metric) among {@code memberHashes} (a subquery of hashes) that
         * have observations in the used months or days, from the month and day masks of the computations the plan
         * checked (a user may come twice: the callers count distinct hashes).
         */
        String maskedUsers(String companyId, String metric, String memberHashes) {
            StringJoiner out = new StringJoiner(" UNION ALL ");
            String where = " WHERE company_id = " + SqlLiteral.string(companyId) + (metric == null ? " AND metric != ''" : " AND metric = "
                    + SqlLiteral.string(metric)) + " AND ";
            if (!maskRows.isEmpty() || dayMaskRows.isEmpty()) {
                out.add("SELECT metric, u FROM " + MASKS + (memberHashes == null ? "" : " PREWHERE u IN (" + memberHashes + ")") + where + maskFilter);
            }
            if (!dayMaskRows.isEmpty()) {
                out.add("SELECT metric, u FROM " + DAY_MASKS + (memberHashes == null ? "" : " PREWHERE u IN (" + memberHashes + ")") + where
                        + dayMaskFilter);
            }
            return out.toString();
        }
    }

    /**
     * The plan for these cohorts, or empty when it would use nothing: no whole month of the range fresh for all of them
     * and in the month masks ({@link #maskHeaders}), and no day of the rest fresh for all of them in the per-cohort days
     * ({@link #dayPlan}; this overload always looks at the days, the requests' only above the threshold).
     */
    Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range) {
        return plan(companyId, cohortIds, metric, range, Use.FIGURES, true);
    }

    /**
     * As {@link #plan(String, Collection, String, DateRange)}, with the open month's days only when its partition
     * holds {@code openMonthRows} of at least {@link #OPEN_MONTH_DAYS_FROM_ROWS}.
     */
    Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range, long openMonthRows) {
        return plan(companyId, cohortIds, metric, range, Use.FIGURES, openMonthRows >= openMonthDaysFromRows);
    }

    /**
     * The plan for {@code trends}, which needs no distinct members (no masks) but the rows' per-day breakdown: a
     * month whose rows a computation from before {@code 010_cohort_month_days.sql} wrote (empty day arrays) is not used.
     */
    Optional<Plan> planDays(String companyId, Collection<Long> cohortIds, String metric, DateRange range) {
        return plan(companyId, cohortIds, metric, range, Use.DAYS, true);
    }

    /** As {@link #planDays(String, Collection, String, DateRange)}, with the open month's days as {@link #plan} takes them. */
    Optional<Plan> planDays(String companyId, Collection<Long> cohortIds, String metric, DateRange range, long openMonthRows) {
        return plan(companyId, cohortIds, metric, range, Use.DAYS, openMonthRows >= openMonthDaysFromRows);
    }

    /**
     * Whether a request's plan over this range could use anything ({@link #plan}): a whole month, or the open month's
     * days where its partition holds {@code openMonthRows} of at least the threshold. Reads nothing: a request that
     * cannot use the per-cohort rows (a 30-day range below the threshold) spends no round trip on them.
     */
    boolean mayPlan(DateRange range, long openMonthRows) {
        return !wholeMonths(range).isEmpty() || openMonthRows >= openMonthDaysFromRows;
    }

    /** What a plan is for, and so what makes a month usable. */
    private enum Use {
        /** metrics, overview, compare, top: the months' figures and the month masks (users). */
        FIGURES(true, false, true),
        /** trends: the months' per-day counts and sums. */
        DAYS(false, true, true),
        /** the refresh: what it need not recompute (figures and days); it writes between reads, so its own cohort only. */
        REFRESH(false, true, false);

        final boolean masks;
        final boolean days;
        final boolean companyWide;

        Use(boolean masks, boolean days, boolean companyWide) {
            this.masks = masks;
            this.days = days;
            this.companyWide = companyWide;
        }
    }

    private Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range, Use use, boolean withDays) {
        boolean withMasks = use.masks;
        List<YearMonth> months = wholeMonths(range);
        if (cohortIds.isEmpty() || months.isEmpty() && !withDays) {
            return Optional.empty(); // nothing it could use: no read
        }
        Map<YearMonth, String> input = inputMarks(months);
        Map<Integer, MaskHeader> masks = withMasks ? maskHeaders(months.stream().map(YearMonth::getYear).toList()) : Map.of();
        Map<Long, String> companyMembers = companyMemberMarks(companyId); // one read of user_cohorts' parts for both uses below
        Map<Long, String> members = memberMarks(companyMembers, cohortIds);
        record Header(long refresh, long rows, String input, String members) {
        }
        Map<String, Header> headers = new HashMap<>();
        Map<String, long[]> seen = new HashMap<>(); // (cohort/month) -> {metric rows of the header's refresh, of those of metric}
        // a request reads the rows of every cohort of the company and keeps the asked ones: one read per state of the
        // table and range of months, answered from memory by readMonthRows afterwards, where a read of the asked
        // cohorts alone misses the memory for nearly every new set of cohorts (a FINAL over the table: 30-250 ms per
        // request on the benchmark's data, loaded machine). Only the headers carry the marks (a metric row's are
        // read as ''), and a company of more than COMPANY_WIDE_HEADERS cohorts with members reads the asked cohorts
        // alone, as does the refresh, which writes between its reads.
        boolean companyWide = use.companyWide && companyMembers.size() <= COMPANY_WIDE_HEADERS;
        java.util.Set<Long> asked = java.util.Set.copyOf(cohortIds);
        List<JsonNode> rows = months.isEmpty() ? List.of() : readMonthRows("SELECT cohort_id, toString(month) AS m, metric, refresh, count, notEmpty(day_keys) AS days,"
                + " if(metric = '', input_mark, '') AS h_input, if(metric = '', member_mark, '') AS h_members"
                + " FROM " + TABLE + " FINAL WHERE company_id = " + SqlLiteral.string(companyId)
                + (companyWide ? "" : " AND cohort_id IN " + SqlLiteral.numberList(cohortIds))
                + " AND month IN (" + months.stream().map(m -> SqlLiteral.date(m.atDay(1))).collect(Collectors.joining(", ")) + ")")
                .stream().filter(r -> asked.contains(r.get("cohort_id").asLong())).toList();
        for (JsonNode r : rows) {
            if (r.get("metric").asText().isEmpty()) {
                headers.put(r.get("cohort_id").asLong() + "/" + r.get("m").asText(), new Header(r.get("refresh").asLong(),
                        r.get("count").asLong(), r.get("h_input").asText(), r.get("h_members").asText()));
            }
        }
        for (JsonNode r : rows) {
            String key = r.get("cohort_id").asLong() + "/" + r.get("m").asText();
            Header h = headers.get(key);
            // a metric row without its day arrays is missing where the days are needed
            if (!r.get("metric").asText().isEmpty() && h != null && h.refresh() == r.get("refresh").asLong()
                    && (!use.days || r.get("days").asInt() == 1)) {
                long[] c = seen.computeIfAbsent(key, k -> new long[2]);
                c[0]++;
                if (metric == null || metric.equals(r.get("metric").asText())) {
                    c[1]++;
                }
            }
        }
        List<YearMonth> used = new ArrayList<>();
        List<long[]> planned = new ArrayList<>(); // (cohort, epoch day of the month, refresh)
        long expected = 0;
        for (YearMonth m : months) {
            MaskHeader mask = masks.get(m.getYear());
            boolean fresh = !withMasks || mask != null && input.get(m).equals(mask.marks().get(m));
            long monthRows = 0;
            List<long[]> monthPlanned = new ArrayList<>();
            for (long id : fresh ? cohortIds : List.<Long>of()) {
                String key = id + "/" + m.atDay(1);
                Header h = headers.get(key);
                long[] c = seen.getOrDefault(key, new long[2]);
                if (h == null || !h.input().equals(input.get(m)) || !h.members().equals(members.get(id)) || c[0] != h.rows()) {
                    fresh = false;
                    break;
                }
                monthRows += c[1];
                monthPlanned.add(new long[]{id, m.atDay(1).toEpochDay(), h.refresh()});
            }
            if (fresh) {
                used.add(m);
                expected += monthRows;
                planned.addAll(monthPlanned);
            }
        }
        List<DateRange> rest = rest(range, used);
        DayPlan days = use == Use.REFRESH || !withDays ? DayPlan.NONE : dayPlan(companyId, cohortIds, metric, rest, members, withMasks, companyWide);
        if (used.isEmpty() && days.used().isEmpty()) {
            return Optional.empty();
        }
        Map<Integer, Integer> bits = new java.util.TreeMap<>();
        for (YearMonth m : used) {
            bits.merge(m.getYear(), 1 << (m.getMonthValue() - 1), (a, b) -> a | b);
        }
        StringJoiner maskFilter = new StringJoiner(" OR ", "(", ")");
        Map<Long, Long> maskRows = new HashMap<>();
        bits.forEach((year, b) -> {
            MaskHeader h = masks.get(year);
            if (h != null) {
                maskFilter.add("(year = " + year + " AND refresh = " + h.refresh() + " AND bitAnd(mask, " + b + ") != 0)");
                maskRows.put(h.refresh(), h.rows());
            }
        });
        return Optional.of(new Plan(used, productFilter(planned, "month"),
                expected + days.expectedRows(), without(rest, days.used()), members, maskRows.isEmpty() ? "0" : maskFilter.toString(), maskRows,
                days.used(), days.rowFilter(), days.maskFilter(), days.maskRows()));
    }

    /** What a plan reads from the open month's per-cohort days ({@code cohort_day_metrics}) and day masks. */
    private record DayPlan(List<LocalDate> used, String rowFilter, long expectedRows, String maskFilter, Map<Long, Long> maskRows) {
        static final DayPlan NONE = new DayPlan(List.of(), "0", 0, "0", Map.of());
    }

    /**
     * The days of {@code rest} (the range's days no fresh month serves) whose per-cohort day rows are fresh for every
     * asked cohort: a header (metric '') with the day's current input mark ({@link #dayMarks}) and the cohort's member
     * mark, all its metric rows visible, and, where {@code withMasks}, a whole day-mask computation whose mark of that
     * day is the current one. The same rule as the months, a day at a time.
     */
    private DayPlan dayPlan(String companyId, Collection<Long> cohortIds, String metric, List<DateRange> rest, Map<Long, String> members,
                            boolean withMasks, boolean companyWide) {
        if (rest.isEmpty()) {
            return DayPlan.NONE;
        }
        LocalDate first = rest.get(0).start();
        LocalDate last = rest.get(rest.size() - 1).end();
        java.util.Set<Long> asked = java.util.Set.copyOf(cohortIds);
        List<JsonNode> rows = readRows(DAY_TABLE, "SELECT cohort_id, toString(day) AS d, metric, refresh, count,"
                + " if(metric = '', input_mark, '') AS h_input, if(metric = '', member_mark, '') AS h_members FROM " + DAY_TABLE
                + " FINAL WHERE company_id = " + SqlLiteral.string(companyId) + (companyWide ? "" : " AND cohort_id IN " + SqlLiteral.numberList(cohortIds))
                + " AND day >= " + SqlLiteral.date(first) + " AND day <= " + SqlLiteral.date(last))
                .stream().filter(r -> asked.contains(r.get("cohort_id").asLong())).toList();
        if (rows.isEmpty()) {
            return DayPlan.NONE;
        }
        TreeSet<YearMonth> restMonths = new TreeSet<>();
        for (YearMonth m = YearMonth.from(first); !m.isAfter(YearMonth.from(last)); m = m.plusMonths(1)) {
            restMonths.add(m);
        }
        Map<LocalDate, String> input = dayMarks(restMonths);
        Map<YearMonth, DayMaskHeader> masks = withMasks ? dayMaskHeaders(restMonths) : Map.of();
        Map<String, long[]> headers = new HashMap<>(); // (cohort/day) -> {refresh, rows}
        Map<String, String> headerMarks = new HashMap<>();
        for (JsonNode r : rows) {
            if (r.get("metric").asText().isEmpty()) {
                String key = r.get("cohort_id").asLong() + "/" + r.get("d").asText();
                headers.put(key, new long[]{r.get("refresh").asLong(), r.get("count").asLong()});
                headerMarks.put(key, r.get("h_input").asText() + "|" + r.get("h_members").asText());
            }
        }
        Map<String, long[]> seen = new HashMap<>();
        for (JsonNode r : rows) {
            String key = r.get("cohort_id").asLong() + "/" + r.get("d").asText();
            long[] h = headers.get(key);
            if (!r.get("metric").asText().isEmpty() && h != null && h[0] == r.get("refresh").asLong()) {
                long[] c = seen.computeIfAbsent(key, k -> new long[2]);
                c[0]++;
                if (metric == null || metric.equals(r.get("metric").asText())) {
                    c[1]++;
                }
            }
        }
        List<LocalDate> used = new ArrayList<>();
        List<long[]> planned = new ArrayList<>(); // (cohort, epoch day, refresh)
        Map<YearMonth, Integer> bits = new java.util.TreeMap<>();
        long expected = 0;
        for (DateRange r : rest) {
            for (LocalDate d = r.start(); !d.isAfter(r.end()); d = d.plusDays(1)) {
                String mark = input.get(d);
                DayMaskHeader mask = masks.get(YearMonth.from(d));
                boolean fresh = mark != null && !mark.isEmpty() && (!withMasks || mask != null && mark.equals(mask.marks().get(d)));
                long dayRows = 0;
                List<long[]> dayPlanned = new ArrayList<>();
                for (long id : fresh ? cohortIds : List.<Long>of()) {
                    String key = id + "/" + d;
                    long[] h = headers.get(key);
                    long[] c = seen.getOrDefault(key, new long[2]);
                    if (h == null || !headerMarks.get(key).equals(mark + "|" + members.get(id)) || c[0] != h[1]) {
                        fresh = false;
                        break;
                    }
                    dayRows += c[1];
                    dayPlanned.add(new long[]{id, d.toEpochDay(), h[0]});
                }
                if (fresh) {
                    used.add(d);
                    expected += dayRows;
                    planned.addAll(dayPlanned);
                    bits.merge(YearMonth.from(d), 1 << (d.getDayOfMonth() - 1), (a, b) -> a | b);
                }
            }
        }
        if (used.isEmpty()) {
            return DayPlan.NONE;
        }
        StringJoiner maskFilter = new StringJoiner(" OR ", "(", ")");
        Map<Long, Long> maskRows = new HashMap<>();
        bits.forEach((m, b) -> {
            DayMaskHeader h = masks.get(m);
            if (h != null) {
                maskFilter.add("(month = " + SqlLiteral.date(m.atDay(1)) + " AND refresh = " + h.refresh() + " AND bitAnd(mask, "
                        + Integer.toUnsignedString(b) + ") != 0)");
                maskRows.put(h.refresh(), h.rows());
            }
        });
        return new DayPlan(used, productFilter(planned, "day"), expected,
                maskRows.isEmpty() ? "0" : maskFilter.toString(), maskRows);
    }

    /**
     * The rows of these (cohort, unit, refresh) triples (unit: the epoch day of {@code unitColumn}) as a condition: per
     * refresh, the cohorts with the same units in one term {@code refresh = r AND cohort_id IN (…) AND unit IN (…)},
     * every pair of which is a planned triple, so the condition selects exactly them. A computation writes its cohorts'
     * units together, so a pass is one term, where one tuple per triple (200 cohorts × 30 days) cost ClickHouse 18.16
     * hundreds of milliseconds to parse and test (loaded machine).
     */
    static String productFilter(List<long[]> triples, String unitColumn) {
        Map<Long, Map<Long, TreeSet<Long>>> unitsByCohortByRefresh = new java.util.TreeMap<>();
        for (long[] t : triples) {
            unitsByCohortByRefresh.computeIfAbsent(t[2], r -> new java.util.TreeMap<>()).computeIfAbsent(t[0], c -> new TreeSet<>()).add(t[1]);
        }
        StringJoiner out = new StringJoiner(" OR ", "(", ")");
        unitsByCohortByRefresh.forEach((refresh, byCohort) -> {
            Map<TreeSet<Long>, List<Long>> cohortsByUnits = new java.util.LinkedHashMap<>();
            byCohort.forEach((cohort, units) -> cohortsByUnits.computeIfAbsent(units, u -> new ArrayList<>()).add(cohort));
            cohortsByUnits.forEach((units, cohorts) -> out.add("(refresh = " + Long.toUnsignedString(refresh) + " AND cohort_id IN "
                    + SqlLiteral.numberList(cohorts) + " AND toUInt16(" + unitColumn + ") IN " + SqlLiteral.numberList(units) + ")"));
        });
        return triples.isEmpty() ? "0" : out.toString();
    }

    /** The ranges without the given days (each in one of them), in order. */
    static List<DateRange> without(List<DateRange> ranges, List<LocalDate> days) {
        if (days.isEmpty()) {
            return ranges;
        }
        java.util.Set<LocalDate> out = java.util.Set.copyOf(days);
        List<DateRange> left = new ArrayList<>();
        for (DateRange r : ranges) {
            LocalDate from = null;
            for (LocalDate d = r.start(); !d.isAfter(r.end()); d = d.plusDays(1)) {
                if (out.contains(d)) {
                    if (from != null) {
                        left.add(new DateRange(from, d.minusDays(1)));
                        from = null;
                    }
                } else if (from == null) {
                    from = d;
                }
            }
            if (from != null) {
                left.add(new DateRange(from, r.end()));
            }
        }
        return left;
    }

    /**
     * The input mark of each day of these months: the names of the month's active parts of {@code metrics_timeseries}
     * whose time range ({@code min_time}, {@code max_time} of {@code system.parts}: the part's smallest and largest
     * {@code ts}) meets the day, sorted; a day no part meets has "". A part never changes and its name is never reused,
     * so the same names mean the same rows of that day: a replayed batch, a late observation, today's inserts or a
     * merge change the mark of exactly the days the new part spans (a part without a time range counts for every day).
     */
    Map<LocalDate, String> dayMarks(Collection<YearMonth> months) {
        Map<LocalDate, TreeSet<String>> names = new HashMap<>();
        for (YearMonth m : months) {
            for (int d = 1; d <= m.lengthOfMonth(); d++) {
                names.put(m.atDay(d), new TreeSet<>());
            }
        }
        if (months.isEmpty()) {
            return Map.of();
        }
        for (JsonNode r : clickHouse.query("SELECT partition_id, name, toUInt32(min_time) AS lo, toUInt32(max_time) AS hi FROM "
                + clickHouse.systemParts() + " WHERE database = " + SqlLiteral.string(clickHouse.database())
                + " AND table = " + SqlLiteral.string(clickHouse.localTable("metrics_timeseries"))
                + " AND active AND partition_id IN " + SqlLiteral.stringList(months.stream().map(CohortMonths::partition).toList()))) {
            String p = r.get("partition_id").asText();
            YearMonth m = YearMonth.of(Integer.parseInt(p.substring(0, 4)), Integer.parseInt(p.substring(4)));
            long lo = r.get("lo").asLong();
            long hi = r.get("hi").asLong();
            boolean unknown = lo == 0 && hi == 0;
            for (int d = 1; d <= m.lengthOfMonth(); d++) {
                long start = m.atDay(d).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
                if (unknown || lo < start + 86_400 && hi >= start) {
                    names.get(m.atDay(d)).add(r.get("name").asText());
                }
            }
        }
        Map<LocalDate, String> out = new HashMap<>();
        names.forEach((d, n) -> out.put(d, String.join(",", n)));
        return out;
    }

    /**
     * A whole computation of a month's day masks ({@code user_day_masks}): its refresh id (and partition), the input
     * mark of each day it covers, and the rows its partition holds.
     */
    record DayMaskHeader(YearMonth month, long refresh, Map<LocalDate, String> marks, long rows) {
    }

    /** The newest whole computation of each month's day masks (as {@link #maskHeaders}). */
    Map<YearMonth, DayMaskHeader> dayMaskHeaders(Collection<YearMonth> months) {
        Map<YearMonth, DayMaskHeader> out = new HashMap<>();
        if (months.isEmpty()) {
            return out;
        }
        Map<Long, Long> partitions = partitionRows(DAY_MASKS);
        if (partitions.isEmpty()) {
            return out;
        }
        for (JsonNode r : clickHouse.query("SELECT toString(month) AS m, refresh, marks, rows FROM " + DAY_MASKS
                + " WHERE company_id = '' AND metric = '' AND month IN (" + months.stream().map(m -> SqlLiteral.date(m.atDay(1)))
                .collect(Collectors.joining(", ")) + ")")) {
            Map<LocalDate, String> marks = new HashMap<>();
            for (String entry : r.get("marks").asText().split(";")) {
                int eq = entry.indexOf('=');
                if (eq == 10) {
                    marks.put(LocalDate.parse(entry.substring(0, 10)), entry.substring(11));
                }
            }
            DayMaskHeader h = new DayMaskHeader(YearMonth.from(LocalDate.parse(r.get("m").asText())), r.get("refresh").asLong(), marks,
                    r.get("rows").asLong());
            DayMaskHeader best = out.get(h.month());
            if (partitions.getOrDefault(h.refresh(), -1L) == h.rows() && (best == null || best.refresh() < h.refresh())) {
                out.put(h.month(), h);
            }
        }
        return out;
    }

    /**
     * A whole computation of a year's month masks ({@code user_month_masks}): its refresh id (and partition), the
     * input mark of each month it covers, and the rows its partition holds.
     */
    record MaskHeader(int year, long refresh, Map<YearMonth, String> marks, long rows) {
    }

    /**
     * The newest whole computation of each year's month masks: whole means its partition's active parts hold the rows
     * its header counts (a partition being dropped, or one of a computation still running, is skipped).
     */
    Map<Integer, MaskHeader> maskHeaders(Collection<Integer> years) {
        Map<Integer, MaskHeader> out = new HashMap<>();
        if (years.isEmpty()) {
            return out;
        }
        Map<Long, Long> partitions = maskPartitionRows();
        for (JsonNode r : clickHouse.query("SELECT year, refresh, marks, rows FROM " + MASKS + " WHERE company_id = '' AND metric = ''"
                + " AND year IN " + SqlLiteral.numberList(new TreeSet<>(years).stream().map(Integer::longValue).toList()))) {
            MaskHeader h = new MaskHeader(r.get("year").asInt(), r.get("refresh").asLong(), parseMarks(r.get("marks").asText()),
                    r.get("rows").asLong());
            MaskHeader best = out.get(h.year());
            if (partitions.getOrDefault(h.refresh(), -1L) == h.rows() && (best == null || best.refresh() < h.refresh())) {
                out.put(h.year(), h);
            }
        }
        return out;
    }

    /** Rows of the active parts of each partition (= refresh) of the masks table, every shard. */
    private Map<Long, Long> maskPartitionRows() {
        return partitionRows(MASKS);
    }

    /** Rows of the active parts of each partition (= refresh) of a masks table, every shard. */
    private Map<Long, Long> partitionRows(String table) {
        Map<Long, Long> out = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT partition_id, sum(rows) AS n FROM " + clickHouse.systemParts() + " WHERE database = "
                + SqlLiteral.string(clickHouse.database()) + " AND table = " + SqlLiteral.string(clickHouse.localTable(table))
                + " AND active GROUP BY partition_id")) {
            out.put(Long.parseUnsignedLong(r.get("partition_id").asText()), r.get("n").asLong());
        }
        return out;
    }

    /**
     * Whether the mask computations a plan read are still whole. A partition is dropped, never refilled, so when it
     * still holds its rows after a query, it held them when the query started and the query read them all.
     */
    boolean masksWhole(Plan plan) {
        return whole(plan.maskRows(), MASKS) && whole(plan.dayMaskRows(), DAY_MASKS);
    }

    private boolean whole(Map<Long, Long> rows, String table) {
        if (rows.isEmpty()) {
            return true;
        }
        Map<Long, Long> now = partitionRows(table);
        return rows.entrySet().stream().allMatch(e -> e.getValue().equals(now.get(e.getKey())));
    }

    private static Map<YearMonth, String> parseMarks(String marks) {
        Map<YearMonth, String> out = new HashMap<>();
        for (String entry : marks.split(";")) {
            int eq = entry.indexOf('=');
            if (eq == 6) {
                out.put(YearMonth.of(Integer.parseInt(entry.substring(0, 4)), Integer.parseInt(entry.substring(4, 6))), entry.substring(7));
            }
        }
        return out;
    }

    /**
     * Recomputes the month masks of every year whose closed months' input marks differ from its newest whole
     * computation (or that has none), then drops the computations no reader needs any more. Returns the years computed.
     */
    int refreshMasks(Collection<YearMonth> closedMonths) {
        Map<Integer, List<YearMonth>> byYear = new java.util.TreeMap<>();
        closedMonths.forEach(m -> byYear.computeIfAbsent(m.getYear(), y -> new ArrayList<>()).add(m));
        Map<Integer, MaskHeader> headers = maskHeaders(byYear.keySet());
        Map<YearMonth, String> input = inputMarks(closedMonths);
        int computed = 0;
        for (Map.Entry<Integer, List<YearMonth>> e : byYear.entrySet()) {
            MaskHeader h = headers.get(e.getKey());
            if (h == null || !e.getValue().stream().allMatch(m -> input.get(m).equals(h.marks().get(m)))) {
                computed += computeMasks(e.getKey(), e.getValue()) ? 1 : 0;
            }
        }
        dropSupersededMasks(byYear.keySet());
        return computed;
    }

    /**
     * One year's masks of every company, metric and user, in statements of bounded size: each slice of a month of
     * {@code metrics_timeseries FINAL} (about {@code maskRowsPerStatement} observations) is staged as one row per
     * (company, metric, user) under a staging id of its own (a partition without a header, which no reader uses), then the staged rows are merged into the computation's
     * one row per (company, metric, user) by ranges of the user hash ({@code u} is in the sorting key, so a range reads
     * its own granules only), and the staging partition dropped. Then the header with the input marks of the months
     * whose marks did not move meanwhile. Returns whether a header was written.
     */
    boolean computeMasks(int year, List<YearMonth> months) {
        Map<YearMonth, String> before = inputMarks(months);
        long staging = newRefresh();
        long refresh = newRefresh();
        long started = System.nanoTime();
        int statements = 0;
        try {
            for (YearMonth m : months) {
                // the month in slices of about maskRowsPerStatement observations (ts is in the sorting key, so a slice
                // reads its own granules and FINAL within it is FINAL of the month: the copies of a row share its ts)
                long observations = clickHouse.queryLong("SELECT count() FROM metrics_timeseries WHERE " + monthCondition(m));
                int slices = (int) Math.max(1, Math.min(MAX_SLICES, (observations + maskRowsPerStatement - 1) / maskRowsPerStatement));
                long from = m.atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
                long to = m.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond();
                for (int i = 0; i < slices; i++) {
                    clickHouse.execute("INSERT INTO " + MASKS + " (company_id, metric, year, u, mask, refresh) SELECT company_id, metric, " + year
                            + ", cityHash64(user_id) AS u, toUInt16(" + (1 << (m.getMonthValue() - 1)) + "), " + staging
                            + " FROM metrics_timeseries FINAL WHERE ts >= toDateTime(" + (from + (to - from) * i / slices) + ") AND ts < toDateTime("
                            + (from + (to - from) * (i + 1) / slices) + ") GROUP BY company_id, metric, u");
                    statements++;
                }
                progress(started, "masks of " + year, m, months.size());
            }
            long staged = clickHouse.queryLong("SELECT count() FROM " + MASKS + " WHERE refresh = " + staging);
            int ranges = (int) Math.max(1, Math.min(4096, (staged + maskRowsPerStatement - 1) / maskRowsPerStatement));
            for (int r = 0; r < ranges; r++) {
                clickHouse.execute("INSERT INTO " + MASKS + " (company_id, metric, year, u, mask, refresh) SELECT company_id, metric, year, u,"
                        + " groupBitOr(mask), " + refresh + " FROM " + MASKS + " WHERE refresh = " + staging + " AND " + hashRange("u", r, ranges)
                        + " GROUP BY company_id, metric, year, u");
                statements++;
            }
        } finally {
            dropMaskPartition(staging);
            lastMaskStatements = statements;
        }
        Map<YearMonth, String> after = inputMarks(months);
        StringJoiner marks = new StringJoiner(";");
        for (YearMonth m : months) {
            if (after.get(m).equals(before.get(m))) {
                marks.add(partition(m) + "=" + before.get(m));
            }
        }
        if (marks.length() == 0) {
            dropMaskPartition(refresh);
            return false;
        }
        long rows = clickHouse.queryLong("SELECT count() FROM " + MASKS + " WHERE refresh = " + refresh) + 1;
        clickHouse.execute("INSERT INTO " + MASKS + " (company_id, metric, year, u, mask, marks, rows, refresh) VALUES ('', '', "
                + year + ", 0, 0, " + SqlLiteral.string(marks.toString()) + ", " + rows + ", " + refresh + ")");
        return true;
    }

    /**
     * The refresh of {@link #refresh(String, YearMonth)} for the month of {@code today}, then the open month's days
     * ({@link #refreshDays}). Returns the (cohort, month) and (cohort, day) headers written.
     */
    int refresh(String companyId, LocalDate today) {
        int months = refresh(companyId, YearMonth.from(today));
        List<Long> cohorts = new ArrayList<>();
        for (JsonNode r : clickHouse.query("SELECT id FROM (SELECT id, deleted FROM cohorts FINAL WHERE company_id = "
                + SqlLiteral.string(companyId) + ") WHERE deleted = 0 ORDER BY id")) {
            cohorts.add(r.get("id").asLong());
        }
        return months + refreshDays(companyId, today, cohorts);
    }

    /** Statements the last {@link #computeDays} and {@link #computeDayMasks} issued, and the day headers the last refresh wrote. */
    volatile int lastDayStatements;
    volatile int lastDayMaskStatements;
    volatile int lastDayHeaders;

    /**
     * The open month per cohort and day (issue 25): every day of {@code today}'s month that has observations, except
     * today itself (still being written: every request reads it from the observations, so what a request reads of the
     * open month grows with one day's observations, not the month's). First the month's day masks, when a computed
     * day's input mark ({@link #dayMarks}) differs from the newest whole computation's; then the (cohort, day) rows
     * whose header is missing or whose input or member mark moved, the cohorts with the same stale days together
     * ({@link #computeDays}). Nothing while the open month's partition holds fewer rows than the threshold
     * ({@link #openMonthDaysFrom}, COHORT_OPEN_MONTH_DAYS_FROM_ROWS), below which no request reads the days. Returns
     * the (cohort, day) headers written.
     */
    int refreshDays(String companyId, LocalDate today, List<Long> cohorts) {
        YearMonth open = YearMonth.from(today);
        lastDayHeaders = 0;
        if (openMonthRows(today) < openMonthDaysFromRows) {
            // no request plans these days (CohortQueries checks the same rows against the same threshold): computing
            // them would cost a pass over the month for nothing. Those already written stay, and are used again only
            // where their marks are still current once the month crosses the threshold
            return 0;
        }
        Map<LocalDate, String> marks = dayMarks(List.of(open));
        List<LocalDate> days = marks.entrySet().stream().filter(e -> !e.getValue().isEmpty() && !e.getKey().equals(today))
                .map(Map.Entry::getKey).sorted().toList();
        if (!days.isEmpty()) {
            DayMaskHeader h = dayMaskHeaders(List.of(open)).get(open);
            if (h == null || !days.stream().allMatch(d -> marks.get(d).equals(h.marks().get(d)))) {
                computeDayMasks(open, days);
            }
        }
        dropSupersededDayMasks(open);
        if (days.isEmpty() || cohorts.isEmpty()) {
            return 0;
        }
        String company = SqlLiteral.string(companyId);
        String inMonth = " AND day >= " + SqlLiteral.date(open.atDay(1)) + " AND day <= " + SqlLiteral.date(open.atEndOfMonth());
        Map<String, JsonNode> headers = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, toString(day) AS d, refresh, count, input_mark, member_mark FROM " + DAY_TABLE
                + " FINAL WHERE company_id = " + company + " AND metric = ''" + inMonth)) {
            headers.put(r.get("cohort_id").asLong() + "/" + r.get("d").asText(), r);
        }
        Map<String, Long> seen = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, toString(day) AS d, refresh, count() AS n FROM " + DAY_TABLE + " FINAL WHERE company_id = "
                + company + " AND metric != ''" + inMonth + " GROUP BY cohort_id, d, refresh")) {
            seen.put(r.get("cohort_id").asLong() + "/" + r.get("d").asText() + "/" + r.get("refresh").asLong(), r.get("n").asLong());
        }
        Map<Long, String> members = memberMarks(companyId, cohorts);
        Map<List<LocalDate>, List<Long>> byStale = new java.util.LinkedHashMap<>();
        for (long cohort : cohorts) {
            List<LocalDate> stale = days.stream().filter(d -> {
                JsonNode h = headers.get(cohort + "/" + d);
                return h == null || !h.get("input_mark").asText().equals(marks.get(d)) || !h.get("member_mark").asText().equals(members.get(cohort))
                        || seen.getOrDefault(cohort + "/" + d + "/" + h.get("refresh").asLong(), 0L) != h.get("count").asLong();
            }).toList();
            if (!stale.isEmpty()) {
                byStale.computeIfAbsent(stale, k -> new ArrayList<>()).add(cohort);
            }
        }
        int written = 0;
        for (Map.Entry<List<LocalDate>, List<Long>> e : byStale.entrySet()) {
            written += computeDays(companyId, e.getValue(), open, e.getKey());
        }
        lastDayHeaders = written;
        return written;
    }

    /**
     * The rows of {@code metrics_timeseries} in the partition of {@code day}'s month, counted as a request counts them
     * for its plan ({@link ReadParts#rows}, the same {@code system.parts} read), so that the refresh computes the open
     * month's days exactly where requests would read them.
     */
    private long openMonthRows(LocalDate day) {
        DateRange range = new DateRange(day, day);
        return parts.of(range, true).rows(ReadParts.OBSERVATIONS, range);
    }

    /**
     * The figures of the given cohorts for the given days of one month, as {@link #compute} does for months: one
     * {@code INSERT … SELECT} per batch of cohorts ({@link #batches}), the days' observations ({@code FINAL}) joined to
     * the batch's current members and grouped by cohort, day and metric; then a header for every (cohort, day) whose
     * marks did not move meanwhile. Returns the headers written.
     */
    int computeDays(String companyId, Collection<Long> cohortIds, YearMonth month, List<LocalDate> days) {
        String company = SqlLiteral.string(companyId);
        Map<LocalDate, String> inputBefore = dayMarks(List.of(month));
        Map<Long, String> membersBefore = memberMarks(companyId, cohortIds);
        long refresh = newRefresh();
        String observations = "SELECT toDate(ts) AS d, metric, cityHash64(user_id) AS u, value, " + QuantileBins.sqlKey("value")
                + " AS qk FROM metrics_timeseries FINAL WHERE company_id = " + company + " AND (" + daysCondition(days) + ")";
        int statements = 0;
        for (List<Long> batch : batches(companyId, cohortIds, month)) {
            clickHouse.execute("INSERT INTO " + DAY_TABLE + " (company_id, cohort_id, day, metric, count, sum, min, max, sum_sq, q_keys, q_counts,"
                    + " refresh) SELECT " + company + ", cohort_id, d, metric, count(), sum(value), min(value), max(value), sum(value * value),"
                    + " (sumMap([qk], [toUInt64(1)]) AS qs).1, qs.2, " + refresh + " FROM (" + observations + ") ALL INNER JOIN ("
                    + members(company, batch) + ") USING u GROUP BY cohort_id, d, metric");
            statements++;
        }
        lastDayStatements = statements;
        Map<LocalDate, String> inputAfter = dayMarks(List.of(month));
        Map<Long, String> membersAfter = memberMarks(companyId, cohortIds);
        Map<String, Long> rows = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, toString(day) AS d, count() AS n FROM " + DAY_TABLE + " WHERE company_id = "
                + company + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds) + " AND refresh = " + refresh + " GROUP BY cohort_id, d")) {
            rows.put(r.get("cohort_id").asLong() + "/" + r.get("d").asText(), r.get("n").asLong());
        }
        StringJoiner headers = new StringJoiner(", ");
        int written = 0;
        for (long cohortId : cohortIds) {
            if (!membersAfter.get(cohortId).equals(membersBefore.get(cohortId))) {
                continue;
            }
            for (LocalDate d : days) {
                if (inputAfter.get(d).equals(inputBefore.get(d))) {
                    headers.add("(" + company + ", " + cohortId + ", " + SqlLiteral.date(d) + ", '', " + rows.getOrDefault(cohortId + "/" + d, 0L)
                            + ", " + SqlLiteral.string(inputBefore.get(d)) + ", " + SqlLiteral.string(membersBefore.get(cohortId)) + ", " + refresh + ")");
                    written++;
                }
            }
        }
        if (written > 0) {
            clickHouse.execute("INSERT INTO " + DAY_TABLE + " (company_id, cohort_id, day, metric, count, input_mark, member_mark, refresh) VALUES "
                    + headers);
        }
        return written;
    }

    /** The days as conditions on {@code ts} (consecutive days one range), so they stand inside FINAL. */
    private static String daysCondition(List<LocalDate> days) {
        StringJoiner out = new StringJoiner(" OR ");
        for (long[] span : spans(days)) {
            out.add("(ts >= toDateTime(" + span[0] + ") AND ts < toDateTime(" + span[1] + "))");
        }
        return out.toString();
    }

    /** Sorted days as [first second, end second) spans of consecutive days. */
    private static List<long[]> spans(List<LocalDate> days) {
        List<long[]> out = new ArrayList<>();
        for (LocalDate d : new TreeSet<>(days)) {
            long start = d.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
            if (!out.isEmpty() && out.get(out.size() - 1)[1] == start) {
                out.get(out.size() - 1)[1] = start + 86_400;
            } else {
                out.add(new long[]{start, start + 86_400});
            }
        }
        return out;
    }

    /**
     * The day masks of the given days of one month, of every company, metric and user, as {@link #computeMasks} does for a
     * year's months: slices of about {@code maskRowsPerStatement} observations staged, merged by ranges of the user hash,
     * the staging dropped, then the header with the input marks of the days whose marks did not move meanwhile.
     */
    boolean computeDayMasks(YearMonth month, List<LocalDate> days) {
        Map<LocalDate, String> before = dayMarks(List.of(month));
        long staging = newRefresh();
        long refresh = newRefresh();
        String monthDate = SqlLiteral.date(month.atDay(1));
        int statements = 0;
        try {
            for (long[] span : spans(days)) {
                long observations = clickHouse.queryLong("SELECT count() FROM metrics_timeseries WHERE ts >= toDateTime(" + span[0]
                        + ") AND ts < toDateTime(" + span[1] + ")");
                int slices = (int) Math.max(1, Math.min(MAX_SLICES, (observations + maskRowsPerStatement - 1) / maskRowsPerStatement));
                for (int i = 0; i < slices; i++) {
                    clickHouse.execute("INSERT INTO " + DAY_MASKS + " (company_id, metric, month, u, mask, refresh) SELECT company_id, metric, "
                            + monthDate + ", cityHash64(user_id) AS u, groupBitOr(toUInt32(bitShiftLeft(toUInt32(1), toDayOfMonth(ts) - 1))), " + staging
                            + " FROM metrics_timeseries FINAL WHERE ts >= toDateTime(" + (span[0] + (span[1] - span[0]) * i / slices)
                            + ") AND ts < toDateTime(" + (span[0] + (span[1] - span[0]) * (i + 1) / slices) + ") GROUP BY company_id, metric, u");
                    statements++;
                }
            }
            long staged = clickHouse.queryLong("SELECT count() FROM " + DAY_MASKS + " WHERE refresh = " + staging);
            int ranges = (int) Math.max(1, Math.min(4096, (staged + maskRowsPerStatement - 1) / maskRowsPerStatement));
            for (int r = 0; r < ranges; r++) {
                clickHouse.execute("INSERT INTO " + DAY_MASKS + " (company_id, metric, month, u, mask, refresh) SELECT company_id, metric, month, u,"
                        + " groupBitOr(mask), " + refresh + " FROM " + DAY_MASKS + " WHERE refresh = " + staging + " AND " + hashRange("u", r, ranges)
                        + " GROUP BY company_id, metric, month, u");
                statements++;
            }
        } finally {
            dropPartition(DAY_MASKS, staging);
            lastDayMaskStatements = statements;
        }
        Map<LocalDate, String> after = dayMarks(List.of(month));
        StringJoiner marks = new StringJoiner(";");
        for (LocalDate d : days) {
            if (after.get(d).equals(before.get(d))) {
                marks.add(d + "=" + before.get(d));
            }
        }
        if (marks.length() == 0) {
            dropPartition(DAY_MASKS, refresh);
            return false;
        }
        long rows = clickHouse.queryLong("SELECT count() FROM " + DAY_MASKS + " WHERE refresh = " + refresh) + 1;
        clickHouse.execute("INSERT INTO " + DAY_MASKS + " (company_id, metric, month, u, mask, marks, rows, refresh) VALUES ('', '', "
                + monthDate + ", 0, 0, " + SqlLiteral.string(marks.toString()) + ", " + rows + ", " + refresh + ")");
        return true;
    }

    /**
     * Drops the day-mask computations of months other than the open one (a closed month is served by its monthly rows
     * and month masks), those older than the open month's newest whole one, and partitions without a header older than
     * {@link #UNFINISHED}.
     */
    private void dropSupersededDayMasks(YearMonth open) {
        Map<Long, Long> partitions = partitionRows(DAY_MASKS);
        if (partitions.isEmpty()) {
            return;
        }
        DayMaskHeader keep = dayMaskHeaders(List.of(open)).get(open);
        Map<Long, String> monthOf = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT refresh, toString(month) AS m FROM " + DAY_MASKS + " WHERE company_id = '' AND metric = ''")) {
            monthOf.put(r.get("refresh").asLong(), r.get("m").asText());
        }
        long unfinished = (System.currentTimeMillis() - UNFINISHED.toMillis()) * 1_000_000L;
        for (long p : partitions.keySet()) {
            String m = monthOf.get(p);
            boolean drop = m == null ? Long.compareUnsigned(p, unfinished) < 0
                    : !m.equals(open.atDay(1).toString()) || keep != null && Long.compareUnsigned(p, keep.refresh()) < 0;
            if (drop) {
                dropPartition(DAY_MASKS, p);
            }
        }
    }

    /** How long a partition without a header may be a computation still running; older ones failed before their header. */
    private static final Duration UNFINISHED = Duration.ofHours(1);

    /**
     * Drops every mask computation older than its year's newest whole one, those of years without closed months with
     * observations any more (retention dropped them), and partitions without a header older than {@link #UNFINISHED}.
     * A request still reading a dropped one notices ({@link #masksWhole}) and is answered without the months.
     */
    private void dropSupersededMasks(Collection<Integer> years) {
        Map<Long, Long> partitions = maskPartitionRows();
        if (partitions.isEmpty()) {
            return;
        }
        Map<Integer, MaskHeader> newest = maskHeaders(years);
        Map<Long, Integer> yearOf = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT refresh, year FROM " + MASKS + " WHERE company_id = '' AND metric = ''")) {
            yearOf.put(r.get("refresh").asLong(), r.get("year").asInt());
        }
        long unfinished = (System.currentTimeMillis() - UNFINISHED.toMillis()) * 1_000_000L;
        for (long p : partitions.keySet()) {
            Integer year = yearOf.get(p);
            MaskHeader keep = year == null ? null : newest.get(year);
            boolean drop = year == null ? Long.compareUnsigned(p, unfinished) < 0
                    : !years.contains(year) || keep != null && Long.compareUnsigned(p, keep.refresh()) < 0;
            if (drop) {
                dropMaskPartition(p);
            }
        }
    }

    private void dropMaskPartition(long refresh) {
        dropPartition(MASKS, refresh);
    }

    private void dropPartition(String table, long refresh) {
        clickHouse.execute("ALTER TABLE " + SqlLiteral.identifier(clickHouse.database()) + "." + clickHouse.localTable(table)
                + clickHouse.onCluster() + " DROP PARTITION " + Long.toUnsignedString(refresh));
    }

    /** A refresh id unique to a computation and rising with time (epoch millis × 10⁶ plus a per-process sequence). */
    private static long newRefresh() {
        return System.currentTimeMillis() * 1_000_000L + (SEQUENCE.incrementAndGet() * 7919 + ThreadLocalRandom.current().nextInt(1_000)) % 1_000_000L;
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
        refreshMasks(months);
        if (months.isEmpty() || cohorts.isEmpty()) {
            return 0;
        }
        // cohorts with the same stale months are computed together (a first pass: every cohort, every closed month)
        DateRange all = new DateRange(months.first().atDay(1), months.last().atEndOfMonth());
        Map<List<YearMonth>, List<Long>> byStale = new java.util.LinkedHashMap<>();
        for (long cohort : cohorts) {
            List<YearMonth> fresh = plan(companyId, List.of(cohort), null, all, Use.REFRESH, false).map(Plan::used).orElse(List.of());
            List<YearMonth> stale = months.stream().filter(m -> !fresh.contains(m)).toList();
            if (!stale.isEmpty()) {
                byStale.computeIfAbsent(stale, k -> new ArrayList<>()).add(cohort);
            }
        }
        int written = 0;
        for (Map.Entry<List<YearMonth>, List<Long>> e : byStale.entrySet()) {
            written += compute(companyId, e.getValue(), e.getKey());
        }
        return written;
    }

    /**
     * Computes the figures of the given cohorts for the given months, one {@code INSERT … SELECT} per month and batch
     * of cohorts ({@link #batches}: about {@code joinedRowsPerStatement} joined rows, so no statement grows with the
     * company; one batch for most months): the month's observations ({@code FINAL}) joined to the batch's current
     * members by {@code cityHash64(user_id)} and grouped by cohort and metric, so a month is read once per batch, not
     * once per cohort (a read per cohort read the company's observations once per cohort: the first pass over 200
     * cohorts of the benchmark's 10M observations took 671–818 s on a busy machine). A user in two cohorts counts in both (one joined row per membership). Then a header for every
     * (cohort, month) whose marks did not move meanwhile, all with one refresh id. Returns the headers written.
     */
    int compute(String companyId, Collection<Long> cohortIds, List<YearMonth> months) {
        String company = SqlLiteral.string(companyId);
        Map<YearMonth, String> inputBefore = inputMarks(months);
        Map<Long, String> membersBefore = memberMarks(companyId, cohortIds);
        long refresh = newRefresh();
        long started = System.nanoTime();
        int statements = 0;
        for (YearMonth m : months) {
            String month = "SELECT toStartOfMonth(ts) AS m, toDayOfMonth(ts) AS d, metric, cityHash64(user_id) AS u, value, "
                    + QuantileBins.sqlKey("value") + " AS qk FROM metrics_timeseries FINAL WHERE company_id = " + company
                    + " AND " + monthCondition(m);
            for (List<Long> batch : batches(companyId, cohortIds, m)) {
                // the day arrays: counts per day of the month (never 0, so aligned with their keys) and sums per day, whose
                // keys are their own: sumMap leaves out a key whose sum is exactly 0 (18.16 and 24.x alike)
                clickHouse.execute("INSERT INTO " + TABLE + " (company_id, cohort_id, month, metric, count, sum, min, max, sum_sq, q_keys,"
                        + " q_counts, users, day_keys, day_counts, day_sum_keys, day_sums, refresh) SELECT " + company + ", cohort_id, m, metric,"
                        + " count(), sum(value), min(value), max(value), sum(value * value), (sumMap([qk], [toUInt64(1)]) AS qs).1, qs.2,"
                        + " uniqExactState(u), (sumMap([d], [toUInt64(1)]) AS dc).1, dc.2, (sumMap([d], [value]) AS ds).1, ds.2, " + refresh
                        + " FROM (" + month + ") ALL INNER JOIN (" + members(company, batch) + ") USING u GROUP BY cohort_id, m, metric");
                statements++;
            }
            progress(started, "figures of " + companyId + "'s " + cohortIds.size() + " cohorts (" + statements + " statements so far)",
                    m, months.size());
        }
        lastFigureStatements = statements;
        Map<YearMonth, String> inputAfter = inputMarks(months);
        Map<Long, String> membersAfter = memberMarks(companyId, cohortIds);
        Map<String, Long> rows = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, toString(month) AS m, count() AS n FROM " + TABLE + " WHERE company_id = "
                + company + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds) + " AND refresh = " + refresh + " GROUP BY cohort_id, m")) {
            rows.put(r.get("cohort_id").asLong() + "/" + r.get("m").asText(), r.get("n").asLong());
        }
        StringJoiner headers = new StringJoiner(", ");
        int written = 0;
        for (long cohortId : cohortIds) {
            if (!membersAfter.get(cohortId).equals(membersBefore.get(cohortId))) {
                continue;
            }
            for (YearMonth m : months) {
                if (inputAfter.get(m).equals(inputBefore.get(m))) {
                    headers.add("(" + company + ", " + cohortId + ", " + SqlLiteral.date(m.atDay(1)) + ", '', "
                            + rows.getOrDefault(cohortId + "/" + m.atDay(1), 0L) + ", " + SqlLiteral.string(inputBefore.get(m)) + ", "
                            + SqlLiteral.string(membersBefore.get(cohortId)) + ", " + refresh + ")");
                    written++;
                }
            }
        }
        if (written == 0) {
            return 0;
        }
        clickHouse.execute("INSERT INTO " + TABLE + " (company_id, cohort_id, month, metric, count, input_mark, member_mark, refresh) VALUES "
                + headers);
        return written;
    }

    /** The current members of these cohorts as (cohort_id, u = cityHash64(user_id)). */
    private static String members(String company, Collection<Long> cohortIds) {
        return "SELECT cohort_id, cityHash64(user_id) AS u FROM (SELECT cohort_id, user_id, active FROM user_cohorts FINAL"
                + " WHERE company_id = " + company + " AND cohort_id IN " + SqlLiteral.numberList(cohortIds) + ") WHERE active = 1";
    }

    /** The observations of the month, as a condition on the sorting key ({@code ts}), so it stands inside FINAL. */
    private static String monthCondition(YearMonth m) {
        return "ts >= toDateTime(" + m.atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() + ") AND ts < toDateTime("
                + m.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() + ")";
    }

    /** Range r of n equal ranges of the 64-bit unsigned {@code column}. */
    static String hashRange(String column, int r, int n) {
        java.math.BigInteger span = java.math.BigInteger.ONE.shiftLeft(64);
        String lo = span.multiply(java.math.BigInteger.valueOf(r)).divide(java.math.BigInteger.valueOf(n)).toString();
        String hi = span.multiply(java.math.BigInteger.valueOf(r + 1)).divide(java.math.BigInteger.valueOf(n)).toString();
        return column + " >= toUInt64('" + lo + "')" + (r + 1 < n ? " AND " + column + " < toUInt64('" + hi + "')" : "");
    }

    /**
     * The cohorts in batches whose month joins at most about {@code joinedRowsPerStatement} rows: the month's
     * observations per user ({@code FINAL} left out: an estimate, a replayed row counted twice) joined to the cohorts'
     * members. One batch when the month's observations times the cohorts stay within it (no estimate read then); a
     * cohort larger than the bound alone is a batch of its own (a month of one cohort is not split).
     */
    private List<List<Long>> batches(String companyId, Collection<Long> cohortIds, YearMonth m) {
        String company = SqlLiteral.string(companyId);
        long observations = clickHouse.queryLong("SELECT count() FROM metrics_timeseries WHERE company_id = " + company + " AND " + monthCondition(m));
        if (observations * cohortIds.size() <= joinedRowsPerStatement) {
            return List.of(List.copyOf(cohortIds));
        }
        Map<Long, Long> joined = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT cohort_id, sum(n) AS rows FROM (SELECT cityHash64(user_id) AS u, count() AS n FROM metrics_timeseries"
                + " WHERE company_id = " + company + " AND " + monthCondition(m) + " GROUP BY u) ALL INNER JOIN (" + members(company, cohortIds)
                + ") USING u GROUP BY cohort_id")) {
            joined.put(r.get("cohort_id").asLong(), r.get("rows").asLong());
        }
        List<List<Long>> out = new ArrayList<>();
        List<Long> batch = new ArrayList<>();
        long rows = 0;
        for (long id : cohortIds) {
            long n = joined.getOrDefault(id, 0L);
            if (!batch.isEmpty() && rows + n > joinedRowsPerStatement) {
                out.add(batch);
                batch = new ArrayList<>();
                rows = 0;
            }
            batch.add(id);
            rows += n;
        }
        out.add(batch);
        return out;
    }

    /** Logs a month done when the pass has run longer than {@link #PROGRESS}. */
    private static void progress(long startedNanos, String what, YearMonth done, int months) {
        Duration took = Duration.ofNanos(System.nanoTime() - startedNanos);
        if (took.compareTo(PROGRESS) > 0) {
            LOG.info("cohort months: {}: {} done ({} months in the pass), {} s so far", what, done, months, took.toSeconds());
        }
    }

    /**
     * The plan's rows as a subquery with the columns of a per-group partial figure (see CohortQueries); the distinct
     * members come from the month masks ({@link Plan#maskedUsers}), so the rows' distinct-members states are not read.
     */
    static String rows(String companyId, Plan plan, String metric, String groupColumns) {
        String columns = "SELECT " + groupColumns + "count AS p_count, emptyArrayUInt64() AS p_us, sum AS p_sum, min AS p_min, max AS p_max,"
                + " sum_sq AS p_sum_sq, q_keys AS p_keys, q_counts AS p_counts, toUInt64(1) AS p_rows FROM ";
        return columns + TABLE + plan.where(companyId, metric)
                + (plan.usedDays().isEmpty() ? "" : " UNION ALL " + columns + DAY_TABLE + plan.dayWhere(companyId, metric));
    }
}
