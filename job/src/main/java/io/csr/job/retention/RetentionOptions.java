package io.csr.job.retention;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How long each monthly-partitioned table keeps its data. A value of {@code n} months keeps the current month and the
 * {@code n - 1} before it; every older partition is dropped. Defaults in {@link #defaults()}, configuration read once
 * in {@link #from(CsrConfig)}.
 *
 * @param months           RETENTION_MONTHS: events, metrics_timeseries, metric_windows, user_daily_metrics, cohort_month_metrics, cohort_day_metrics, sink ledger
 * @param deadLetterMonths RETENTION_DEAD_LETTER_MONTHS: dead_letters, late_events
 * @param checkEvery       RETENTION_CHECK_HOURS; zero means no scheduled runs
 * @param compactMonths    RETENTION_COMPACT_MONTHS: merge a month of {@link #compacted()} into one part when its biggest
 *                         part holds less than 90 % of its rows
 */
public record RetentionOptions(int months, int deadLetterMonths, Duration checkEvery, boolean compactMonths) {

    public RetentionOptions {
        if (months < 1 || deadLetterMonths < 1) {
            throw new IllegalArgumentException("retention: RETENTION_MONTHS=" + months + " and RETENTION_DEAD_LETTER_MONTHS="
                    + deadLetterMonths + " must both be at least 1 (the current month is always kept)");
        }
        if (checkEvery == null || checkEvery.isNegative()) {
            throw new IllegalArgumentException("retention: RETENTION_CHECK_HOURS must be >= 0, got " + checkEvery);
        }
    }

    public static RetentionOptions defaults() {
        return new RetentionOptions(Integer.parseInt(ConfigKey.RETENTION_MONTHS.defaultValue()),
                Integer.parseInt(ConfigKey.RETENTION_DEAD_LETTER_MONTHS.defaultValue()),
                Duration.ofHours(Long.parseLong(ConfigKey.RETENTION_CHECK_HOURS.defaultValue())),
                Boolean.parseBoolean(ConfigKey.RETENTION_COMPACT_MONTHS.defaultValue()));
    }

    public static RetentionOptions from(CsrConfig config) {
        return new RetentionOptions((int) config.getLong(ConfigKey.RETENTION_MONTHS, 1, 1_200),
                (int) config.getLong(ConfigKey.RETENTION_DEAD_LETTER_MONTHS, 1, 1_200),
                Duration.ofHours(config.getLong(ConfigKey.RETENTION_CHECK_HOURS, 0, 24 * 366)),
                config.getBoolean(ConfigKey.RETENTION_COMPACT_MONTHS));
    }

    /** The tables that keep {@code months}, in the order they are processed. */
    private static final List<String> DATA_TABLES = List.of("events", "metrics_timeseries", "metric_windows", "user_daily_metrics",
            "cohort_month_metrics", "cohort_day_metrics", "sink_commits");
    /** The tables that keep {@code deadLetterMonths}, processed after the data tables. */
    private static final List<String> DEAD_LETTER_TABLES = List.of("dead_letters", "late_events", "window_recomputes");

    /** Table name to months kept, in the order they are processed. All are partitioned by toYYYYMM(…). */
    public Map<String, Integer> tables() {
        Map<String, Integer> out = new LinkedHashMap<>();
        DATA_TABLES.forEach(t -> out.put(t, months));
        DEAD_LETTER_TABLES.forEach(t -> out.put(t, deadLetterMonths));
        return out;
    }

    /** The tables whose readers use FINAL, so a month in one part answers faster (and holds no copies). */
    public List<String> compacted() {
        return List.of("events", "metrics_timeseries", "metric_windows", "user_daily_metrics");
    }

    public boolean scheduled() {
        return !checkEvery.isZero();
    }
}
