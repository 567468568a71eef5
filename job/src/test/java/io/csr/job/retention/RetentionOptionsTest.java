package io.csr.job.retention;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

class RetentionOptionsTest {
    static final Clock NOV_2026 = Clock.fixed(Instant.parse("2026-11-27T01:00:00Z"), ZoneOffset.UTC);
    static final Clock FIRST_SECOND_OF_2027 = Clock.fixed(Instant.parse("2027-01-01T00:00:00Z"), ZoneOffset.UTC);

    @Test
    void defaultsAndConfiguration() {
        RetentionOptions d = RetentionOptions.defaults();
        assertThat(d).isEqualTo(new RetentionOptions(13, 6, Duration.ofHours(6), true));
        assertThat(d.tables()).containsEntry("events", 13).containsEntry("dead_letters", 6).containsEntry("late_events", 6)
                .containsKeys("metrics_timeseries", "metric_windows", "sink_commits")
                .doesNotContainKeys("hourly_metrics", "daily_event_counts"); // dropped by sql/clickhouse/005 (they over-counted replays)
        assertThat(new RetentionOptions(2, 1, Duration.ZERO, false).tables()).as("in processing order, dead letters last")
                .containsExactly(entry("events", 2), entry("metrics_timeseries", 2), entry("metric_windows", 2),
                        entry("user_daily_metrics", 2), entry("cohort_month_metrics", 2), entry("cohort_day_metrics", 2), entry("sink_commits", 2),
                        entry("dead_letters", 1), entry("late_events", 1), entry("window_recomputes", 1));

        RetentionOptions off = RetentionOptions.from(CsrConfig.of(Map.of(
                ConfigKey.RETENTION_MONTHS.name(), "2", ConfigKey.RETENTION_CHECK_HOURS.name(), "0")));
        assertThat(off.months()).isEqualTo(2);
        assertThat(off.scheduled()).isFalse();
        assertThatThrownBy(() -> new RetentionOptions(0, 1, Duration.ZERO, true)).hasMessageContaining("RETENTION_MONTHS=0");
    }

    @Test
    void keepsTheCurrentMonthAndTheMonthsBeforeIt() {
        // access is not touched by oldestKept
        PartitionRetention r = new PartitionRetention((ClickHouseAccess) null, RetentionOptions.defaults(), NOV_2026);
        assertThat(r.oldestKept(13)).isEqualTo(YearMonth.of(2025, 11));
        assertThat(r.oldestKept(1)).isEqualTo(YearMonth.of(2026, 11));
        PartitionRetention newYear = new PartitionRetention(null, RetentionOptions.defaults(), FIRST_SECOND_OF_2027);
        assertThat(newYear.oldestKept(2)).isEqualTo(YearMonth.of(2026, 12));
    }
}
