package io.csr.job.rows;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

    /** Epoch millis as a ClickHouse DateTime('UTC') literal, truncated to the second. */
    public static String dateTime(long epochMillis) {
        return DATE_TIME.format(Instant.ofEpochMilli(Math.floorDiv(epochMillis, 1000L) * 1000L));
    }

    /** Epoch millis as an ISO-8601 UTC instant, e.g. 2026-11-27T10:15:00Z (the contract's windowStart/occurredAt). */
    public static String isoInstant(long epochMillis) {
        return Instant.ofEpochMilli(epochMillis).toString();
    }

    public static ObjectNode object() {
        return Json.mapper().createObjectNode();
    }

    /** One JSONEachRow line for {@code table}, a table without partitions. */
    public static TableRow row(String table, ObjectNode columns) {
        return new TableRow(table, json(columns));
    }

    /** One JSONEachRow line for {@code table}, partitioned by toYYYYMM of {@code partitionTimeMs}. */
    public static TableRow row(String table, long partitionTimeMs, ObjectNode columns) {
        return new TableRow(table, json(columns), month(partitionTimeMs));
    }

    /** toYYYYMM of an epoch-millis instant (UTC), e.g. 202611: the monthly partition of every partitioned table. */
    public static int month(long epochMillis) {
        java.time.LocalDate d = Instant.ofEpochMilli(epochMillis).atZone(ZoneOffset.UTC).toLocalDate();
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
