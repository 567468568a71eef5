package io.csr.gateway.cohort;

import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.InputRules;

import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Validation of every cohort API parameter. Nothing reaches SQL unless it passed here first (and then only through
 * {@code SqlLiteral}). A bad value is a 400 whose {@code error} is {@code bad_<field>} and whose message names the
 * field, shows the value (cut to 64 characters) and says what is accepted.
 */
final class CohortParams {
    static final Pattern METRIC = Pattern.compile("[a-z0-9_]{1,64}");
    private static final Pattern ID = Pattern.compile("[0-9]{1,18}");
    static final int DEFAULT_RANGE_DAYS = 30;
    static final int MAX_RANGE_DAYS = 3_660;
    static final int MAX_LIMIT = 100;
    static final int DEFAULT_LIMIT = 10;

    private CohortParams() {
    }

    /** How a period starts: the ClickHouse function that maps a {@code DateTime} to its period's first day. */
    enum Interval {
        DAY("toDate"), WEEK("toMonday"), MONTH("toStartOfMonth");

        final String clickHouseFunction;

        Interval(String clickHouseFunction) {
            this.clickHouseFunction = clickHouseFunction;
        }

        String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** UTC dates, both ends inclusive. */
    record DateRange(LocalDate start, LocalDate end) {
    }

    static ApiError bad(String field, String message) {
        return ApiError.badRequest("bad_" + field, field + ": " + message);
    }

    /** A value as shown in an error message: at most 64 characters, so a 10 KB value does not come back whole. */
    static String shown(String value) {
        return InputRules.shown(value);
    }

    static long id(String field, String raw) {
        if (raw == null || !ID.matcher(raw).matches() || Long.parseLong(raw) == 0) {
            throw bad(field, "'" + shown(String.valueOf(raw)) + "' is not a cohort id (a positive integer, as returned by POST /cohorts)");
        }
        return Long.parseLong(raw);
    }

    static String metric(Optional<String> raw) {
        String m = raw.orElseThrow(() -> bad("metric", "required (a metric name such as sroi, [a-z0-9_]{1,64})"));
        if (!METRIC.matcher(m).matches()) {
            throw bad("metric", "'" + shown(m) + "' is not a metric name; use [a-z0-9_]{1,64}, e.g. sroi or q2q_confidence");
        }
        return m;
    }

    /**
     * {@code startDate}/{@code endDate} ({@code YYYY-MM-DD}, inclusive). Missing {@code endDate} is today (UTC), missing
     * {@code startDate} is {@value #DEFAULT_RANGE_DAYS} days ending at {@code endDate}.
     */
    static DateRange range(Optional<String> startRaw, Optional<String> endRaw, LocalDate today) {
        LocalDate end = endRaw.map(s -> date("endDate", s)).orElse(today);
        LocalDate start = startRaw.map(s -> date("startDate", s)).orElse(end.minusDays(DEFAULT_RANGE_DAYS - 1));
        if (start.isAfter(end)) {
            throw bad("startDate", start + " is after endDate " + end + "; give startDate <= endDate (both inclusive)");
        }
        if (ChronoUnit.DAYS.between(start, end) + 1 > MAX_RANGE_DAYS) {
            throw bad("endDate", "the range " + start + ".." + end + " spans more than " + MAX_RANGE_DAYS + " days; ask for a shorter one");
        }
        return new DateRange(start, end);
    }

    /** A date both stores hold ({@link InputRules#date}). */
    static LocalDate date(String field, String raw) {
        try {
            return InputRules.date(raw);
        } catch (IllegalArgumentException e) {
            throw bad(field, e.getMessage());
        }
    }

    static Interval interval(Optional<String> raw) {
        String v = raw.orElse("day");
        for (Interval i : Interval.values()) {
            if (i.wireName().equals(v)) {
                return i;
            }
        }
        throw bad("interval", "'" + shown(v) + "' is not an interval; use day, week or month");
    }

    static int limit(Optional<String> raw) {
        if (raw.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        String v = raw.get();
        if (!v.matches("[0-9]{1,3}") || Integer.parseInt(v) < 1 || Integer.parseInt(v) > MAX_LIMIT) {
            throw bad("limit", "'" + shown(v) + "' is not a limit; use an integer from 1 to " + MAX_LIMIT);
        }
        return Integer.parseInt(v);
    }

    /** A user id of a membership change: {@link InputRules} text of 1-128 characters (as participants' user ids). */
    static String userId(String field, Object raw) {
        String problem = raw instanceof String s ? InputRules.textProblem(s, 1, 128, false) : "is not a string";
        if (problem != null) {
            throw bad(field, "'" + shown(String.valueOf(raw)) + "' is not a user id: it " + problem
                    + " (strings of 1-128 characters of well-formed text without control characters)");
        }
        return (String) raw;
    }

    /** Free text (cohort name, description): length-checked, control characters refused. */
    static String text(String field, Object raw, int max, boolean required) {
        if (raw == null && !required) {
            return "";
        }
        String problem = !(raw instanceof String s) ? (raw == null ? "is required" : "is not a string")
                : required && s.isBlank() ? "is blank" : InputRules.textProblem(s, 0, max, !required);
        if (problem != null) {
            throw bad(field, (raw == null ? "" : "'" + shown(String.valueOf(raw)) + "' ") + problem + "; use a string of "
                    + (required ? "1" : "0") + "-" + max + " characters of well-formed text without control characters");
        }
        return ((String) raw).strip();
    }
}
