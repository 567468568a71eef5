package io.csr.job.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.TableRow;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CohortRowsTest {
    static final long JOINED = micros("2026-11-27T10:15:30.123456Z");
    static final long LEFT = micros("2026-11-28T08:00:01.999999Z");
    static final long UPDATED = micros("2026-11-28T08:00:02.000789Z");

    static long micros(String iso) {
        Instant i = Instant.parse(iso);
        return i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000;
    }

    static JsonNode json(TableRow row) throws Exception {
        return Json.mapper().readTree(row.json);
    }

    @Test
    void aCohortRowCarriesItsColumnsAndUpdatedAtInMillisAsVersion() throws Exception {
        TableRow row = CohortRows.cohort(new CohortRecord(42, "acme", "Mentors \"2026\"", "it's", JOINED, UPDATED, false));
        assertThat(row.table).isEqualTo("cohorts");
        JsonNode j = json(row);
        assertThat(j.get("id").asLong()).isEqualTo(42);
        assertThat(j.get("company_id").asText()).isEqualTo("acme");
        assertThat(j.get("name").asText()).isEqualTo("Mentors \"2026\"");
        assertThat(j.get("description").asText()).isEqualTo("it's");
        assertThat(j.get("created_at").asText()).isEqualTo("2026-11-27 10:15:30");
        assertThat(j.get("updated_at").asText()).isEqualTo("2026-11-28 08:00:02");
        assertThat(j.get("deleted").asInt()).isZero();
        assertThat(j.get("version").asLong()).isEqualTo(Instant.parse("2026-11-28T08:00:02.000Z").toEpochMilli());
        assertThat(j.size()).isEqualTo(8);
    }

    @Test
    void aSoftDeletedCohortIsDeleted() throws Exception {
        assertThat(json(CohortRows.cohort(new CohortRecord(1, "acme", "n", null, JOINED, UPDATED, true))).get("deleted").asInt()).isEqualTo(1);
    }

    @Test
    void anOpenStintIsActiveWithLeftAtAtEpochZero() throws Exception {
        JsonNode j = json(CohortRows.membership(new MembershipRecord(7, "acme", "u-1", JOINED, null, UPDATED)));
        assertThat(j.get("cohort_id").asLong()).isEqualTo(7);
        assertThat(j.get("user_id").asText()).isEqualTo("u-1");
        assertThat(j.get("joined_at").asText()).isEqualTo("2026-11-27 10:15:30");
        assertThat(j.get("left_at").asText()).isEqualTo("1970-01-01 00:00:00");
        assertThat(j.get("active").asInt()).isEqualTo(1);
        assertThat(j.get("version").asLong()).isEqualTo(UPDATED / 1_000);
        assertThat(j.size()).isEqualTo(7);
    }

    @Test
    void aClosedStintIsInactiveWithItsLeftAt() throws Exception {
        JsonNode j = json(CohortRows.membership(new MembershipRecord(7, "acme", "u-1", JOINED, LEFT, UPDATED)));
        assertThat(j.get("left_at").asText()).isEqualTo("2026-11-28 08:00:01");
        assertThat(j.get("active").asInt()).isZero();
    }

    @Test
    void aPollBecomesCohortRowsThenMembershipRowsForTablesTheSinkAccepts() {
        CohortPoll poll = new CohortPoll(List.of(new CohortRecord(1, "a", "n", "", JOINED, UPDATED, false)),
                List.of(new MembershipRecord(1, "a", "u", JOINED, null, UPDATED), new MembershipRecord(1, "a", "v", JOINED, LEFT, UPDATED)), 0);
        List<TableRow> rows = CohortRows.of(poll);
        assertThat(rows).extracting(r -> r.table).containsExactly("cohorts", "user_cohorts", "user_cohorts");
        assertThat(ClickHouseSinkOptions.CONTRACT_TABLES).contains(CohortRows.COHORTS, CohortRows.USER_COHORTS);
    }

    @Test
    void versionsOfStatesOneMillisecondApartDiffer() {
        // sql/postgres/003 bumps updated_at by >= 1 ms per change, so truncation to millis keeps versions strictly increasing.
        long v1 = CohortRows.millis(UPDATED);
        long v2 = CohortRows.millis(UPDATED + 1_000);
        assertThat(v2).isGreaterThan(v1);
        assertThat(CohortRows.millis(-1)).as("floor, not truncation toward zero").isEqualTo(-1);
    }
}
