package io.csr.job.cohort;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;

import java.io.Serializable;

/**
 * Settings of the cohort replication PostgreSQL → ClickHouse, read once from {@link CsrConfig} (keys in
 * {@link ConfigKey}: COHORT_REPLICATION_*, POSTGRES_*). Serializable: it travels inside the job graph.
 *
 * @param enabled        whether the job replicates at all (COHORT_REPLICATION_ENABLED)
 * @param pollIntervalMs time between two reads of PostgreSQL (COHORT_REPLICATION_POLL_MS)
 * @param safetyLagMs    the watermark stays at least this far behind PostgreSQL's clock (COHORT_REPLICATION_SAFETY_LAG_MS)
 * @param url            JDBC URL (POSTGRES_URL)
 * @param user           PostgreSQL user (POSTGRES_USER)
 * @param password       PostgreSQL password, empty for none (POSTGRES_PASSWORD)
 * @param schema         schema holding cohorts and user_cohorts (POSTGRES_SCHEMA)
 */
public record CohortReplicationOptions(boolean enabled, long pollIntervalMs, long safetyLagMs,
                                       String url, String user, String password, String schema) implements Serializable {

    public CohortReplicationOptions {
        // PostgresSettings validates the URL and the schema name and says what a good one looks like.
        new PostgresSettings(url, user, password, schema);
        if (pollIntervalMs < 100 || pollIntervalMs > 3_600_000) {
            throw new IllegalArgumentException("COHORT_REPLICATION_POLL_MS=" + pollIntervalMs + " must be within 100..3600000 ms");
        }
        if (safetyLagMs < 0 || safetyLagMs > 3_600_000) {
            throw new IllegalArgumentException("COHORT_REPLICATION_SAFETY_LAG_MS=" + safetyLagMs + " must be within 0..3600000 ms");
        }
    }

    public static CohortReplicationOptions defaults() {
        return from(CsrConfig.of(java.util.Map.of()));
    }

    /** Replication switched off (what tests that wire the job by hand get unless they ask for it). */
    public static CohortReplicationOptions disabled() {
        return defaults().withEnabled(false);
    }

    public static CohortReplicationOptions from(CsrConfig config) {
        PostgresSettings pg = PostgresSettings.from(config);
        return new CohortReplicationOptions(
                config.getBoolean(ConfigKey.COHORT_REPLICATION_ENABLED),
                config.getLong(ConfigKey.COHORT_REPLICATION_POLL_MS, 100, 3_600_000),
                config.getLong(ConfigKey.COHORT_REPLICATION_SAFETY_LAG_MS, 0, 3_600_000),
                pg.url(), pg.user(), pg.password(), pg.schema());
    }

    public CohortReplicationOptions withEnabled(boolean on) {
        return new CohortReplicationOptions(on, pollIntervalMs, safetyLagMs, url, user, password, schema);
    }

    public CohortReplicationOptions withPostgres(PostgresSettings pg) {
        return new CohortReplicationOptions(enabled, pollIntervalMs, safetyLagMs, pg.url(), pg.user(), pg.password(), pg.schema());
    }

    public CohortReplicationOptions withPollIntervalMs(long ms) {
        return new CohortReplicationOptions(enabled, ms, safetyLagMs, url, user, password, schema);
    }

    /** Where replication reads from, for log lines and errors (never the password). */
    public String describe() {
        return url + " (schema " + schema + ", user " + user + ")";
    }

    @Override
    public String toString() {
        return "CohortReplicationOptions{enabled=" + enabled + ", pollIntervalMs=" + pollIntervalMs + ", safetyLagMs="
                + safetyLagMs + ", postgres=" + describe() + "}";
    }
}
