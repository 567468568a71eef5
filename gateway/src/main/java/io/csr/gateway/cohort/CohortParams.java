package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.gateway.http.ApiError;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
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
    private static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
    private static final Pattern ID = Pattern.compile("[0-9]{1,18}");
    static final int DEFAULT_RANGE_DAYS = 30;
    static final int MAX_RANGE_DAYS = 3_660;
    static final int MAX_LIMIT = 100;
    static final int DEFAULT_LIMIT = 10;
    static final int MAX_BODY_BYTES = 2 * 1024 * 1024; // 10,000 user ids of 128 characters fit

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
        return value.length() > 64 ? value.substring(0, 64) + "…(" + value.length() + " chars)" : value;
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

    static LocalDate date(String field, String raw) {
        if (!DATE.matcher(raw).matches()) {
            throw bad(field, "'" + shown(raw) + "' is not a date; use YYYY-MM-DD (UTC), e.g. 2026-11-01");
        }
        try {
            return LocalDate.parse(raw);
        } catch (DateTimeParseException e) {
            throw bad(field, "'" + raw + "' is not a calendar date; use YYYY-MM-DD (UTC), e.g. 2026-11-01");
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

    /** A user id of a membership change: 1-128 characters without control characters (the bulk-load function checks the same). */
    static String userId(String field, Object raw) {
        if (!(raw instanceof String s) || s.isEmpty() || s.length() > 128 || s.chars().anyMatch(Character::isISOControl)) {
            throw bad(field, "'" + shown(String.valueOf(raw)) + "' is not a user id; use strings of 1-128 characters without control characters");
        }
        return s;
    }

    /** Free text (cohort name, description): length-checked, control characters refused. */
    static String text(String field, Object raw, int max, boolean required) {
        if (raw == null && !required) {
            return "";
        }
        if (!(raw instanceof String s) || (required && s.isBlank()) || s.length() > max
                || s.chars().anyMatch(c -> Character.isISOControl(c) && c != '\n' && c != '\t')) {
            throw bad(field, (raw == null ? "required" : "'" + shown(String.valueOf(raw)) + "' is not accepted")
                    + "; use a string of " + (required ? "1" : "0") + "-" + max + " characters without control characters");
        }
        return s.strip();
    }

    /** The request body as a JSON object, at most {@value #MAX_BODY_BYTES} bytes. */
    static JsonNode jsonBody(ServerRequest req) {
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        } catch (IOException e) {
            throw ApiError.badRequest("bad_body", "body: could not be read: " + e.getMessage());
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiError(413, "body_too_large", "body: larger than " + MAX_BODY_BYTES + " bytes; send less per request");
        }
        JsonNode node;
        try {
            node = Json.mapper().readTree(bytes);
        } catch (IOException e) {
            throw ApiError.badRequest("bad_body", "body: not JSON (" + shown(String.valueOf(e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage())) + ")");
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest("bad_body", "body: must be a JSON object");
        }
        return node;
    }
}
