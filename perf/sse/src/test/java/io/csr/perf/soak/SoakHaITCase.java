package io.csr.perf.soak;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code csr soak --topology ha} on a small scale: the HA topology on processes of its own (ClickHouse 1×2 + ZooKeeper,
 * Redis Cluster 3+3, NATS ×3 with the stream at R3, 2 gateways behind HAProxy, the embedded job and PostgreSQL), 2 minutes
 * of traffic and 4 faults — any 4 of an HA plan are one of each HA kind (one replica, one Redis master, one NATS node, one
 * gateway). Passes only when the verdict held (every event once, windows, dead letters, dashboards, cohorts) and each HA
 * kind happened once; needs the job and gateway jars a full build packaged (`mvn -o -DskipTests verify`).
 */
class SoakHaITCase {
    @Test
    void twoMinutesOneFaultOfEachHaKindEverythingExact() throws Exception {
        Path results = TestSoaks.target("soak-ha-results-" + System.currentTimeMillis());
        TestSoaks.passes("soak-ha", results, 2, 4, 26401, 20, 2, Duration.ofSeconds(150), true);

        Path json;
        try (Stream<Path> files = Files.list(results)) {
            json = files.filter(f -> f.getFileName().toString().endsWith(".json")).findFirst().orElseThrow();
        }
        JsonNode result = Json.mapper().readTree(json.toFile());
        assertThat(result.get("topology").asText()).isEqualTo("ha");
        List<String> kinds = Json.mapper().convertValue(result.get("faults").findValues("fault"), Json.mapper().getTypeFactory()
                .constructCollectionType(List.class, String.class));
        assertThat(kinds).as("the faults that happened").containsExactlyInAnyOrder(Fault.HA_ONLY.stream().map(Enum::name).toArray(String[]::new));
        // every fault recovered: events flow, the dashboard and ClickHouse current again within the limit
        for (JsonNode f : result.get("faults")) {
            assertThat(f.get("eventsFlowMs").isNull()).as("events flow again after %s", f.get("fault")).isFalse();
            assertThat(f.get("clickhouseCurrentMs").isNull()).as("ClickHouse current again after %s", f.get("fault")).isFalse();
        }
    }
}
