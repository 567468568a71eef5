package io.csr.job.cohort;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CohortReplicationOptionsTest {
    static CsrConfig config(Map<String, String> values) {
        return CsrConfig.of(values);
    }

    @Test
    void defaultsComeFromConfigKey() {
        CohortReplicationOptions d = CohortReplicationOptions.defaults();
        assertThat(d.enabled()).isTrue();
        assertThat(d.pollIntervalMs()).isEqualTo(Long.parseLong(ConfigKey.COHORT_REPLICATION_POLL_MS.defaultValue())).isEqualTo(5_000);
        assertThat(d.safetyLagMs()).isEqualTo(1_000);
        assertThat(d.url()).isEqualTo(ConfigKey.POSTGRES_URL.defaultValue());
        assertThat(d.schema()).isEqualTo("public");
        assertThat(CohortReplicationOptions.disabled().enabled()).isFalse();
    }

    @Test
    void readsItsKeysAndThePostgresOnes() {
        CohortReplicationOptions o = CohortReplicationOptions.from(config(Map.of(
                "COHORT_REPLICATION_ENABLED", "false", "COHORT_REPLICATION_POLL_MS", "2000",
                "COHORT_REPLICATION_SAFETY_LAG_MS", "0", "POSTGRES_URL", "jdbc:postgresql://db:5432/csr",
                "POSTGRES_SCHEMA", "analytics", "POSTGRES_PASSWORD", "s3cret")));
        assertThat(o).isEqualTo(new CohortReplicationOptions(false, 2_000, 0, "jdbc:postgresql://db:5432/csr", "postgres", "s3cret", "analytics"));
        assertThat(o.toString()).contains("db:5432").doesNotContain("s3cret");
    }

    @Test
    void badValuesNameTheKeyAndTheValue() {
        assertThatThrownBy(() -> CohortReplicationOptions.from(config(Map.of("COHORT_REPLICATION_POLL_MS", "5s"))))
                .hasMessageContaining("COHORT_REPLICATION_POLL_MS").hasMessageContaining("5s");
        assertThatThrownBy(() -> CohortReplicationOptions.from(config(Map.of("COHORT_REPLICATION_POLL_MS", "10"))))
                .hasMessageContaining("COHORT_REPLICATION_POLL_MS=10");
        assertThatThrownBy(() -> CohortReplicationOptions.from(config(Map.of("COHORT_REPLICATION_ENABLED", "maybe"))))
                .hasMessageContaining("COHORT_REPLICATION_ENABLED").hasMessageContaining("maybe");
        assertThatThrownBy(() -> CohortReplicationOptions.from(config(Map.of("POSTGRES_URL", "postgres://db/csr"))))
                .hasMessageContaining("POSTGRES_URL='postgres://db/csr'").hasMessageContaining("jdbc:postgresql://");
        assertThatThrownBy(() -> CohortReplicationOptions.defaults().withPollIntervalMs(50))
                .hasMessageContaining("COHORT_REPLICATION_POLL_MS=50");
    }
}
