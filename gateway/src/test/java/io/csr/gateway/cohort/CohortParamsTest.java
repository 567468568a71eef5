package io.csr.gateway.cohort;

import io.csr.gateway.http.ApiError;
import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CohortParamsTest {
    static final LocalDate TODAY = LocalDate.parse("2026-11-29");

    @Test
    void rangeDefaultsToThirtyDaysEndingTodayAndIsInclusive() {
        assertThat(CohortParams.range(Optional.empty(), Optional.empty(), TODAY))
                .isEqualTo(new CohortParams.DateRange(LocalDate.parse("2026-10-31"), TODAY));
        assertThat(CohortParams.range(Optional.of("2026-01-01"), Optional.of("2026-01-01"), TODAY).start()).isEqualTo("2026-01-01");
        assertThatThrownBy(() -> CohortParams.range(Optional.of("2026-01-02"), Optional.of("2026-01-01"), TODAY))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("bad_startDate"))
                .hasMessageContaining("after endDate");
        assertThatThrownBy(() -> CohortParams.range(Optional.of("2015-01-01"), Optional.of("2026-01-01"), TODAY))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("bad_endDate"));
        assertThatThrownBy(() -> CohortParams.date("endDate", "2026-02-29"))
                .hasMessageStartingWith("endDate: '2026-02-29' is not a calendar date");
    }

    @Test
    void metricIdLimitAndIntervalAcceptOnlyTheirGrammar() {
        assertThat(CohortParams.metric(Optional.of("q2q_confidence"))).isEqualTo("q2q_confidence");
        for (String bad : new String[]{"", "Sroi", "a-b", "x".repeat(65), "sroi'--", "sroi "}) {
            assertThatThrownBy(() -> CohortParams.metric(Optional.of(bad))).isInstanceOf(ApiError.class).hasMessageStartingWith("metric:");
        }
        assertThat(CohortParams.id("id", "42")).isEqualTo(42);
        for (String bad : new String[]{"0", "-1", "1.0", "1e3", "9".repeat(19), " 1", "0x10"}) {
            assertThatThrownBy(() -> CohortParams.id("id", bad)).hasMessageStartingWith("id:");
        }
        assertThat(CohortParams.limit(Optional.empty())).isEqualTo(CohortParams.DEFAULT_LIMIT);
        assertThat(CohortParams.limit(Optional.of("100"))).isEqualTo(100);
        for (String bad : new String[]{"0", "101", "007x", "-5", "1000"}) {
            assertThatThrownBy(() -> CohortParams.limit(Optional.of(bad))).hasMessageStartingWith("limit:");
        }
        assertThat(CohortParams.interval(Optional.of("week"))).isEqualTo(CohortParams.Interval.WEEK);
        assertThatThrownBy(() -> CohortParams.interval(Optional.of("WEEK"))).hasMessageStartingWith("interval:");
    }

    @Test
    void errorMessagesShowAtMost64CharactersOfAValue() {
        String huge = "y".repeat(10_000);
        assertThatThrownBy(() -> CohortParams.metric(Optional.of(huge)))
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(250))
                .hasMessageContaining("(10000 chars)");
    }

    @Test
    void changePctIsNullForTheFirstPointAndAfterAZeroAverage() {
        assertThat(CohortAnalyticsService.changePct(null, 5.0)).isNull();
        assertThat(CohortAnalyticsService.changePct(0.0, 5.0)).isNull();
        assertThat(CohortAnalyticsService.changePct(4.0, 5.0)).isEqualTo(25.0);
        assertThat(CohortAnalyticsService.changePct(-2.0, -1.0)).as("a rise from a negative average is positive").isEqualTo(50.0);
    }
}
