package io.csr.job.backfill;

import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackfillRangeTest {
    private static final LocalDate NOV_1 = LocalDate.parse("2026-11-01");

    @Test
    void splitsCoverTheDaysInclusiveWithoutGapOrOverlap() {
        BackfillRange range = new BackfillRange(NOV_1, NOV_1.plusDays(1), List.of(), Duration.ofHours(18));
        Serializable[][] splits = range.splits();
        assertThat(splits).hasNumberOfRows(3);
        assertThat(splits[0][0]).isEqualTo(OffsetDateTime.parse("2026-11-01T00:00Z"));
        assertThat(splits[0][1]).isEqualTo(splits[1][0]);
        assertThat(splits[1][1]).isEqualTo(splits[2][0]);
        assertThat(splits[2][1]).as("the last split ends where the range ends, not 18 h later").isEqualTo(OffsetDateTime.parse("2026-11-03T00:00Z"));
    }

    @Test
    void badInputIsNamedWithTheFix() {
        assertThatThrownBy(() -> BackfillRange.parseDate("--from", "2026-13-01")).hasMessageContaining("--from '2026-13-01'")
                .hasMessageContaining("YYYY-MM-DD");
        assertThatThrownBy(() -> new BackfillRange(NOV_1, NOV_1.minusDays(1), List.of(), Duration.ofHours(24)))
                .hasMessageContaining("before --from").hasMessageContaining("swap");
        assertThatThrownBy(() -> new BackfillRange(NOV_1, NOV_1, List.of("acme'; DROP TABLE event_log; --"), Duration.ofHours(24)))
                .hasMessageContaining("--companies");
        assertThatThrownBy(() -> new BackfillRange(NOV_1, NOV_1, List.of(), Duration.ZERO)).hasMessageContaining("--split-hours");
    }

    @Test
    void companiesBecomeAValidatedFilterAndTimesStayBindParameters() {
        BackfillRange range = new BackfillRange(NOV_1, NOV_1, List.of("acme", "globex"), Duration.ofHours(24));
        assertThat(range.sql()).contains("occurred_at >= ? AND occurred_at < ?").contains("company_id IN ('acme', 'globex')");
        assertThat(range.countSql()).startsWith("SELECT count(*) FROM event_log");
    }

    @Test
    void spansOfHistoryPerCompanyAndSubjectUseTheSameFilter() {
        BackfillRange range = new BackfillRange(NOV_1, NOV_1, List.of("acme"), Duration.ofHours(24));
        assertThat(range.spansSql()).contains("min(occurred_at)").contains("max(occurred_at)")
                .contains("occurred_at >= ? AND occurred_at < ?").contains("company_id IN ('acme')")
                .endsWith("GROUP BY company_id, subject");
    }
}
