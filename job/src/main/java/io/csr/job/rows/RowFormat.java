package io.csr.job.rows;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.csr.common.json.Json;
import io.csr.job.sink.clickhouse.TableRow;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * How the job renders values for ClickHouse JSONEachRow rows: {@code DateTime('UTC')} as "YYYY-MM-DD hh:mm:ss" text
 * (second precision, the only one 18.16 has), JSON lines through the project's one Jackson mapper.
 */
public final class RowFormat {
    private static final DateTimeFormatter DATE_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    private RowFormat() {
    }

    /**
     * Epoch millis as a ClickHouse DateTime('UTC') literal, truncated to the second. Every row has one or two, so the
     * date part comes from a one-day cache and the time is written by hand (DateTimeFormatter was a tenth of the
     * row-rendering tasks' time); years outside 0000..9999 take the formatter.
     */
    public static String dateTime(long epochMillis) {
        long seconds = Math.floorDiv(epochMillis, 1000L);
        Day day = day(Math.floorDiv(seconds, 86_400L));
        if (day == null) {
            return DATE_TIME.format(Instant.ofEpochSecond(seconds));
        }
        int secondOfDay = (int) Math.floorMod(seconds, 86_400L);
        char[] out = new char[19];
        day.text.getChars(0, 10, out, 0);
        out[10] = ' ';
        twoDigits(out, 11, secondOfDay / 3600);
        out[13] = ':';
        twoDigits(out, 14, secondOfDay / 60 % 60);
        out[16] = ':';
        twoDigits(out, 17, secondOfDay % 60);
        return new String(out);
    }

    private static void twoDigits(char[] out, int at, int value) {
        out[at] = (char) ('0' + value / 10);
        out[at + 1] = (char) ('0' + value % 10);
    }

    /** One UTC day: its "yyyy-MM-dd" and toYYYYMM. Immutable, so the racy one-entry cache below is safe. */
    private record Day(long epochDay, String text, int yyyymm) {
    }

    private static volatile Day lastDay = new Day(0, "1970-01-01", 197001);

    /** The day, or null for years outside 0000..9999 (not four digits). */
    private static Day day(long epochDay) {
        Day d = lastDay;
        if (d.epochDay == epochDay) {
            return d;
        }
        java.time.LocalDate date = java.time.LocalDate.ofEpochDay(epochDay);
        if (date.getYear() < 0 || date.getYear() > 9999) {
            return null;
        }
        d = new Day(epochDay, date.toString(), date.getYear() * 100 + date.getMonthValue());
        lastDay = d;
        return d;
    }

    /** Epoch millis as an ISO-8601 UTC instant, e.g. 2026-11-27T10:15:00Z (the contract's windowStart/occurredAt). */
    public static String isoInstant(long epochMillis) {
        return Instant.ofEpochMilli(epochMillis).toString();
    }

    /** A row's columns, in order; see {@link RowLine}. */
    public static RowLine object() {
        return new RowLine();
    }

    /** One JSONEachRow line for {@code table}, a table without partitions. */
    public static TableRow row(String table, RowLine columns) {
        return new TableRow(table, columns.toJson());
    }

    /** One JSONEachRow line for {@code table}, partitioned by toYYYYMM of {@code partitionTimeMs}. */
    public static TableRow row(String table, long partitionTimeMs, RowLine columns) {
        return new TableRow(table, columns.toJson(), month(partitionTimeMs));
    }

    /** toYYYYMM of an epoch-millis instant (UTC), e.g. 202611: the monthly partition of every partitioned table. */
    public static int month(long epochMillis) {
        long epochDay = Math.floorDiv(epochMillis, 86_400_000L);
        Day day = day(epochDay);
        if (day != null) {
            return day.yyyymm;
        }
        java.time.LocalDate d = java.time.LocalDate.ofEpochDay(epochDay);
        return d.getYear() * 100 + d.getMonthValue();
    }

    /** One-line JSON of any Jackson-serializable value (records of the contract package included). */
    public static String json(Object value) {
        try {
            return Json.mapper().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
