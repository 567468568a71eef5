package io.csr.gateway;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Configuration is application.yaml under environment variables / -D properties of the ConfigKey names. */
class MainConfigTest {
    @Test
    void yamlGivesDefaultsAndTheEnvironmentOverrides() {
        String key = ConfigKey.STREAM_HEARTBEAT_SECONDS.name();
        // the default, whatever the environment running the test sets
        assertThat(Main.loadConfig(name -> null).get(ConfigKey.STREAM_HEARTBEAT_SECONDS)).isEqualTo("15");
        CsrConfig overridden = Main.loadConfig(name -> name.equals(key) ? "9" : null);
        assertThat(overridden.get(ConfigKey.STREAM_HEARTBEAT_SECONDS)).isEqualTo("9");
        assertThat(GatewaySettings.from(overridden).heartbeat().toSeconds()).isEqualTo(9);

        String before = System.getProperty(key);
        try {
            System.setProperty(key, "7"); // the real lookup: a -D property wins over the yaml and the environment
            CsrConfig config = Main.loadConfig();
            assertThat(config.get(ConfigKey.STREAM_HEARTBEAT_SECONDS)).isEqualTo("7");
            assertThat(GatewaySettings.from(config).heartbeat().toSeconds()).isEqualTo(7);
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }

    @Test
    void theOpenMonthThresholdDefaultsTo3MAndABadValueNamesTheKeyAndTheValue() {
        String key = ConfigKey.COHORT_OPEN_MONTH_DAYS_FROM_ROWS.name();
        assertThat(GatewaySettings.from(CsrConfig.of(java.util.Map.of())).cohortOpenMonthDaysFromRows()).isEqualTo(3_000_000L);
        assertThat(GatewaySettings.from(CsrConfig.of(java.util.Map.of(key, "0"))).cohortOpenMonthDaysFromRows()).isZero();
        assertThat(GatewaySettings.from(CsrConfig.of(java.util.Map.of(key, "8300000"))).cohortOpenMonthDaysFromRows()).isEqualTo(8_300_000L);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GatewaySettings.from(CsrConfig.of(java.util.Map.of(key, "-1"))))
                .hasMessageContaining(key).hasMessageContaining("-1").hasMessageContaining("3000000");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GatewaySettings.from(CsrConfig.of(java.util.Map.of(key, "3M"))))
                .hasMessageContaining(key).hasMessageContaining("'3M'").hasMessageContaining("not a whole number");
    }

    @Test
    void readersDefaultToTheConfigKeysValueNotAnOlderCopyInTheYaml() {
        // application.yaml once repeated STREAM_READERS=8, so raising the ConfigKey default changed nothing at run time
        CsrConfig config = Main.loadConfig(name -> null);
        assertThat(config.get(ConfigKey.STREAM_READERS)).isEqualTo(ConfigKey.STREAM_READERS.defaultValue()).isEqualTo("32");
        assertThat(GatewaySettings.from(config).readers()).isEqualTo(32);
    }

    @Test
    void aRedisClusterPollsWithFewerReadersUnlessTheOperatorSetsThem() {
        CsrConfig cluster = CsrConfig.of(java.util.Map.of(ConfigKey.REDIS_URL.name(), "redis-cluster://127.0.0.1:7000,127.0.0.1:7001"));
        assertThat(GatewaySettings.from(cluster).readers()).isEqualTo(GatewaySettings.CLUSTER_DEFAULT_READERS).isEqualTo(8);
        assertThat(GatewaySettings.from(cluster.with(ConfigKey.STREAM_READERS, "32")).readers()).isEqualTo(32);
        CsrConfig sentinel = CsrConfig.of(java.util.Map.of(ConfigKey.REDIS_URL.name(), "redis-sentinel://127.0.0.1:26379/mymaster"));
        assertThat(GatewaySettings.from(sentinel).readers()).isEqualTo(32);
    }

    @Test
    void aShortSecretIsRefusedWithWhatToDo() {
        CsrConfig config = CsrConfig.of(java.util.Map.of(ConfigKey.JWT_SECRET.name(), "short"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GatewaySettings.from(config))
                .hasMessageContaining("at least 32 bytes").hasMessageContaining("openssl rand");
    }
}
