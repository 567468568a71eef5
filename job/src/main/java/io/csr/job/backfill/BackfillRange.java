package io.csr.job.backfill;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What one backfill covers: UTC days {@code from}..{@code to} (both inclusive), optionally only some companies, cut
 * into time splits the JDBC source reads in parallel. Validated once, with errors naming the value and the fix.
 */
public record BackfillRange(LocalDate from, LocalDate to, List<String> companies, Duration split) implements Serializable {
    private static final Pattern COMPANY = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    public BackfillRange {
        if (from == null || to == null) {
            throw new IllegalArgumentException("backfill needs --from DATE and --to DATE (UTC days, YYYY-MM-DD, both inclusive)");
        }
        if (to.isBefore(from)) {
            throw new IllegalArgumentException("--to " + to + " is before --from " + from + "; swap them");
        }
        companies = companies == null ? List.of() : List.copyOf(companies);
        for (String c : companies) {
            if (!COMPANY.matcher(c).matches()) {
                throw new IllegalArgumentException("--companies: '" + c + "' is not a company id ([A-Za-z0-9_-]{1,64})");
            }
        }
        if (split == null || split.isNegative() || split.isZero() || split.compareTo(Duration.ofDays(31)) > 0) {
            throw new IllegalArgumentException("--split-hours must be between 1 and 744 (a split is one parallel unit of reading)");
        }
    }

    public static LocalDate parseDate(String flag, String value) {
        try {
            return LocalDate.parse(value);
        } catch (DateTimeParseException | NullPointerException e) {
            throw new IllegalArgumentException(flag + " '" + value + "' is not a date; use YYYY-MM-DD (UTC), e.g. 2026-11-01");
        }
    }

    public Instant start() {
        return from.atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** Exclusive end: the start of the day after {@code to}. */
    public Instant end() {
        return to.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** Parameter rows of the JDBC source: one [start, end) pair of timestamps per split (in time order). */
    public Serializable[][] splits() {
        List<Serializable[]> out = new ArrayList<>();
        for (Instant s = start(); s.isBefore(end()); s = s.plus(split)) {
            Instant e = s.plus(split).isAfter(end()) ? end() : s.plus(split);
            // OffsetDateTime binds as timestamptz whatever the JVM's time zone (a Timestamp would not)
            out.add(new Serializable[] {s.atOffset(ZoneOffset.UTC), e.atOffset(ZoneOffset.UTC)});
        }
        return out.toArray(new Serializable[0][]);
    }

    /**
     * The query of one split. The company filter is rendered from ids validated above against [A-Za-z0-9_-] (no quote
     * can occur), so no unchecked value reaches SQL; the time bounds are bind parameters.
     */
    public String sql() {
        return select("id, subject, payload, (extract(epoch from recorded_at) * 1000)::bigint AS recorded_ms");
    }

    /**
     * Per (company, subject): the first and last occurredAt (epoch millis) of the range's history, same filter; the
     * spans the backfill tells the live job about ({@link BackfillNotices}).
     */
    public String spansSql() {
        return select("company_id, subject, floor(extract(epoch from min(occurred_at)) * 1000)::bigint,"
                + " floor(extract(epoch from max(occurred_at)) * 1000)::bigint") + " GROUP BY company_id, subject";
    }

    /** The count query for progress (rows to read), same filter. */
    public String countSql() {
        return select("count(*)");
    }

    private String select(String columns) {
        String companyFilter = companies.isEmpty() ? ""
                : " AND company_id IN (" + String.join(", ", companies.stream().map(c -> "'" + c + "'").toList()) + ")";
        return "SELECT " + columns + " FROM event_log WHERE occurred_at >= ? AND occurred_at < ?" + companyFilter;
    }
}
