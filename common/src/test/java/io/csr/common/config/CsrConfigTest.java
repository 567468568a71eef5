package io.csr.common.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CsrConfigTest {

    @Test
    void defaultsApplyWhenUnset() {
        CsrConfig c = CsrConfig.of(Map.of());
        assertThat(c.get(ConfigKey.CLICKHOUSE_DATABASE)).isEqualTo("csr");
        assertThat(c.getBoolean(ConfigKey.CLICKHOUSE_COMPRESSION)).isFalse();
    }

    @Test
    void badValuesNameKeyAndValue() {
        CsrConfig c = CsrConfig.of(Map.of("CLICKHOUSE_SOCKET_TIMEOUT_MS", "soon", "CLICKHOUSE_COMPRESSION", "maybe"));
        assertThatThrownBy(() -> c.getLong(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS))
                .hasMessageContaining("CLICKHOUSE_SOCKET_TIMEOUT_MS").hasMessageContaining("soon");
        assertThatThrownBy(() -> c.getBoolean(ConfigKey.CLICKHOUSE_COMPRESSION))
                .hasMessageContaining("CLICKHOUSE_COMPRESSION").hasMessageContaining("maybe");
    }

    @Test
    void rangeIsChecked() {
        CsrConfig c = CsrConfig.of(Map.of("CLICKHOUSE_SOCKET_TIMEOUT_MS", "5"));
        assertThatThrownBy(() -> c.getLong(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS, 100, 1000))
                .hasMessageContaining("out of range");
    }

    @Test
    void withOverridesOneKey() {
        CsrConfig c = CsrConfig.of(Map.of()).with(ConfigKey.CLICKHOUSE_DATABASE, "csr_it_x");
        assertThat(c.get(ConfigKey.CLICKHOUSE_DATABASE)).isEqualTo("csr_it_x");
    }

    @Test
    void theStateDirIsTheCheckoutsDotCsrUnlessSet() {
        java.nio.file.Path root = java.nio.file.Path.of("/srv/csr");
        assertThat(CsrConfig.of(Map.of()).stateDir(root)).isEqualTo(java.nio.file.Path.of("/srv/csr/.csr"));
        assertThat(CsrConfig.of(Map.of("CSR_STATE_DIR", "/var/lib/csr/../csr")).stateDir(root)).isEqualTo(java.nio.file.Path.of("/var/lib/csr"));
        assertThat(CsrConfig.of(Map.of("CSR_STATE_DIR", "<repo>/state")).stateDir(root)).isEqualTo(java.nio.file.Path.of("/srv/csr/state"));
    }
}
