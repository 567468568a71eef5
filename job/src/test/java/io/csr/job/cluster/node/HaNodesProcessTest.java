package io.csr.job.cluster.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HaNodesProcessTest {
    @TempDir
    Path tmp;

    @Test
    void theEndpointsNameTheRedisNodesPortsAndTheGatewaysPortsOfTheBlock() {
        Map<String, String> endpoints = new HaNodesProcess(tmp, 20_000, line -> { }).endpoints();
        assertThat(endpoints.get("REDIS_PORTS")).as("3 masters + 3 replicas at the start of the block")
                .isEqualTo("20000,20001,20002,20003,20004,20005");
        assertThat(endpoints.get("GATEWAY_PORTS")).isEqualTo("20060,20061,20062,20063");
        assertThat(HaNodesProcess.ports(20_000)).as("every port of the block is checked free")
                .containsAll(List.of(20_000, 20_005, 30_000, 30_005, 20_060, 20_063));
    }
}
