package io.csr.job.cohort;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.json.Json;
import io.csr.job.sink.clickhouse.TableRow;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns what a poll read into ClickHouse rows of {@code cohorts} and {@code user_cohorts}
 * (sql/clickhouse/001_core_tables.sql; both ReplacingMergeTree(version), read with FINAL). The version is
 * {@code updated_at} in epoch millis, which sql/postgres/003's triggers make grow by at least 1 ms with every change
 * of a ClickHouse row's key, so a re-read or a replayed batch never brings back an older state.
 */
public final class CohortRows {
    public static final String COHORTS = "cohorts";
    public static final String USER_COHORTS = "user_cohorts";

    private CohortRows() {
    }

    public static List<TableRow> of(CohortPoll poll) {
        List<TableRow> out = new ArrayList<>(poll.size());
        poll.cohorts().forEach(c -> out.add(cohort(c)));
        poll.memberships().forEach(m -> out.add(membership(m)));
        return out;
    }

    public static TableRow cohort(CohortRecord c) {
        return row(COHORTS, Json.mapper().createObjectNode()
                .put("id", c.id())
                .put("company_id", c.companyId())
                .put("name", c.name())
                .put("description", c.description() == null ? "" : c.description())
                .put("created_at", dateTime(millis(c.createdAtMicros())))
                .put("updated_at", dateTime(millis(c.updatedAtMicros())))
                .put("deleted", c.deleted() ? 1 : 0)
                .put("version", millis(c.updatedAtMicros())));
    }

    /** {@code left_at} is epoch 0 and {@code active} 1 while the user is a member (the table's convention). */
    public static TableRow membership(MembershipRecord m) {
        return row(USER_COHORTS, Json.mapper().createObjectNode()
                .put("cohort_id", m.cohortId())
                .put("company_id", m.companyId())
                .put("user_id", m.userId())
                .put("joined_at", dateTime(millis(m.joinedAtMicros())))
                .put("left_at", dateTime(m.active() ? 0 : millis(m.leftAtMicros())))
                .put("active", m.active() ? 1 : 0)
                .put("version", millis(m.versionMicros())));
    }

    /** A DateTime('UTC') value as JSONEachRow text, truncated to the second (all 18.16 has). */
    static String dateTime(long epochMillis) {
        return SqlLiteral.dateTimeText(Instant.ofEpochSecond(Math.floorDiv(epochMillis, 1_000L)));
    }

    private static TableRow row(String table, ObjectNode columns) {
        try {
            return new TableRow(table, Json.mapper().writeValueAsString(columns));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render a " + table + " row as JSON", e);
        }
    }

    static long millis(long epochMicros) {
        return Math.floorDiv(epochMicros, 1_000L);
    }
}
