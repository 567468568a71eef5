package io.csr.common.clickhouse;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseSettingsTest {

    @Test
    void oneUrlIsOneEndpointAndAListIsTheReplicasInFailoverOrder() {
        assertThat(settings("http://127.0.0.1:8123", "").urls()).containsExactly("http://127.0.0.1:8123");
        assertThat(settings("http://a:18123, http://b:18124", "csr").urls()).containsExactly("http://a:18123", "http://b:18124");
    }

    @Test
    void aListNeedsTheReplicatedLayoutAndEveryEntryAnHttpUrl() {
        assertThatThrownBy(() -> settings("http://a:18123,http://b:18124", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CLICKHOUSE_CLUSTER is empty");
        assertThatThrownBy(() -> settings("http://a:18123,b:18124", "csr"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be an http(s) URL");
        assertThatThrownBy(() -> settings(" ", "")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is empty");
    }

    private static ClickHouseSettings settings(String url, String cluster) {
        return new ClickHouseSettings(url, "default", "", "csr", false, 30_000, cluster);
    }
}
