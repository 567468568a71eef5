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
    /** A month's masks are staged in at most this many slices (hours). */
    private static final int MAX_SLICES = 31 * 24;
    /** A pass running longer than this logs its progress, month by month. */
    private static final Duration PROGRESS = Duration.ofSeconds(10);

    private final ClickHouseAccess clickHouse;
    private final Duration period;
    private final long joinedRowsPerStatement;
    private final long maskRowsPerStatement;
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
        String stamp = partsStamp(TABLE);
        synchronized (monthReads) {
            Read r = monthReads.get(sql);
            if (r != null && r.stamp().equals(stamp)) {
                return r.rows();
            }
        }
        List<JsonNode> rows = List.copyOf(clickHouse.query(sql));
        if (partsStamp(TABLE).equals(stamp)) {
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
        Map<Long, String> out = new HashMap<>();
        if (cohortIds.isEmpty()) {
            return out;
        }
        Map<Long, String> all = companyMemberMarks(companyId);
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
     * days of the range left for the observations.
     */
    record Plan(List<YearMonth> used, String rowFilter, long expectedRows, List<DateRange> rest, Map<Long, String> memberMarks,
                String maskFilter, Map<Long, Long> maskRows) {
        /** The condition selecting the planned rows, the cohorts first so that only their granules are read. */
        String where(String companyId, String metric) {
            return " WHERE company_id = " + SqlLiteral.string(companyId) + " AND cohort_id IN " + SqlLiteral.numberList(memberMarks.keySet())
                    + (metric == null ? " AND metric != ''" : " AND metric = " + SqlLiteral.string(metric)) + " AND " + rowFilter;
        }

        /**
         * The users (u = cityHash64(user_id), with their metric) among {@code memberHashes} (a subquery of hashes) that
         * have observations in the used months, from the month masks of the computations the plan checked.
         */
        String maskedUsers(String companyId, String metric, String memberHashes) {
            return "SELECT metric, u FROM " + MASKS + " PREWHERE u IN (" + memberHashes + ") WHERE company_id = " + SqlLiteral.string(companyId)
                    + (metric == null ? " AND metric != ''" : " AND metric = " + SqlLiteral.string(metric)) + " AND " + maskFilter;
        }
    }

    /**
     * The plan for these cohorts, or empty when no whole month of the range is fresh for all of them and in the month
     * masks ({@link #maskHeaders}).
     */
    Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range) {
        return plan(companyId, cohortIds, metric, range, Use.FIGURES);
    }

    /**
     * The plan for {@code trends}, which needs no distinct members (no masks) but the rows' per-day breakdown: a
     * month whose rows a computation from before {@code 010_cohort_month_days.sql} wrote (empty day arrays) is not used.
     */
    Optional<Plan> planDays(String companyId, Collection<Long> cohortIds, String metric, DateRange range) {
        return plan(companyId, cohortIds, metric, range, Use.DAYS);
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

    private Optional<Plan> plan(String companyId, Collection<Long> cohortIds, String metric, DateRange range, Use use) {
        boolean withMasks = use.masks;
        List<YearMonth> months = wholeMonths(range);
        if (months.isEmpty() || cohortIds.isEmpty()) {
            return Optional.empty();
        }
        Map<YearMonth, String> input = inputMarks(months);
        Map<Integer, MaskHeader> masks = withMasks ? maskHeaders(months.stream().map(YearMonth::getYear).toList()) : Map.of();
        Map<Long, String> members = memberMarks(companyId, cohortIds);
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
        boolean companyWide = use.companyWide && companyMemberMarks(companyId).size() <= COMPANY_WIDE_HEADERS;
        java.util.Set<Long> asked = java.util.Set.copyOf(cohortIds);
        List<JsonNode> rows = readMonthRows("SELECT cohort_id, toString(month) AS m, metric, refresh, count, notEmpty(day_keys) AS days,"
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
        StringJoiner filter = new StringJoiner(", ");
        long expected = 0;
        for (YearMonth m : months) {
            MaskHeader mask = masks.get(m.getYear());
            boolean fresh = !withMasks || mask != null && input.get(m).equals(mask.marks().get(m));
            long monthRows = 0;
            StringJoiner monthFilter = new StringJoiner(", ");
            for (long id : fresh ? cohortIds : List.<Long>of()) {
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
        return Optional.of(new Plan(used, "(cohort_id, toUInt16(month), refresh) IN (" + filter + ")", expected, rest(range, used), members,
                maskRows.isEmpty() ? "0" : maskFilter.toString(), maskRows));
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
        Map<Long, Long> out = new HashMap<>();
        for (JsonNode r : clickHouse.query("SELECT partition_id, sum(rows) AS n FROM " + clickHouse.systemParts() + " WHERE database = "
                + SqlLiteral.string(clickHouse.database()) + " AND table = " + SqlLiteral.string(clickHouse.localTable(MASKS))
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
        Map<Long, Long> now = maskPartitionRows();
        return plan.maskRows().entrySet().stream().allMatch(e -> e.getValue().equals(now.get(e.getKey())));
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
        clickHouse.execute("ALTER TABLE " + SqlLiteral.identifier(clickHouse.database()) + "." + clickHouse.localTable(MASKS)
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
            List<YearMonth> fresh = plan(companyId, List.of(cohort), null, all, Use.REFRESH).map(Plan::used).orElse(List.of());
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
        return "SELECT " + groupColumns + "count AS p_count, emptyArrayUInt64() AS p_us, sum AS p_sum, min AS p_min, max AS p_max, sum_sq AS p_sum_sq,"
                + " q_keys AS p_keys, q_counts AS p_counts, toUInt64(1) AS p_rows FROM " + TABLE + plan.where(companyId, metric);
    }
}
