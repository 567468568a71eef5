package io.csr.common.lb;

import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HaproxyConfigTest {
    @Test
    void theShippedConfigurationIsTheGeneratedOne() throws Exception {
        Path shipped = Migrations.sqlRoot().getParent().resolve("deploy/haproxy.cfg");
        assertThat(Files.readString(shipped)).as("deploy/haproxy.cfg is generated from HaproxyConfig.deployDefaults(); regenerate it")
                .isEqualTo(HaproxyConfig.deployDefaults().render());
    }

    @Test
    void affinityByCompanyHealthByReadinessAndTimeoutsAboveTheHeartbeat() {
        String cfg = new HaproxyConfig("127.0.0.1:9000", List.of("127.0.0.1:9001", "127.0.0.1:9002"), 1000, null).render();
        assertThat(cfg).contains("balance url_param companyId", "hash-type consistent", "http-check send meth GET uri /health/ready ver HTTP/1.1",
                "bind 127.0.0.1:9000", "server gw1 127.0.0.1:9001 check", "server gw2 127.0.0.1:9002 check",
                "timeout server 60s", "timeout client 60s", "http-request disable-l7-retry unless METH_GET");
        assertThat(cfg).doesNotContain("compression", "shutdown-sessions");
        assertThatThrownBy(() -> new HaproxyConfig("*:80", List.of(), 1, null)).hasMessageContaining("at least one gateway");
    }
}
