package io.csr.ops;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class SampleCommandTest {

    @Test
    void withPartitionsEachCompanyIsPublishedOnItsOwnPartition() {
        Random r = new Random(7);
        for (int i = 0; i < 500; i++) {
            SampleCommand.Sample s = SampleCommand.next(r, List.of("acme", "globex", "initech"), Instant.parse("2026-11-27T10:00:00Z"));
            assertThat(SampleCommand.publishSubject(s, 1)).as("one partition: the original form").isEqualTo(s.subject());
            String partitioned = SampleCommand.publishSubject(s, 4);
            io.csr.common.contract.EventSubjects.Subject parts = io.csr.common.contract.EventSubjects.parse(partitioned);
            assertThat(parts.partition()).isEqualTo(io.csr.common.contract.EventSubjects.partitionOf(s.companyId(), 4));
            assertThat(parts.family() + "." + parts.name()).isEqualTo(s.subject());
        }
    }

    @Test
    void samplesFollowContractOne() throws Exception {
        Random r = new Random(7);
        Set<String> families = new HashSet<>();
        for (int i = 0; i < 2_000; i++) {
            SampleCommand.Sample s = SampleCommand.next(r, List.of("acme", "globex"), Instant.parse("2026-11-27T10:00:00Z"));
            JsonNode n = Json.mapper().readTree(s.json());
            String family = s.subject().substring(0, s.subject().indexOf('.'));
            String name = s.subject().substring(s.subject().indexOf('.') + 1);
            families.add(family);
            assertThat(name).matches("[a-z0-9_]{1,64}");
            assertThat(n.get("eventId").asText()).hasSizeBetween(1, 128);
            assertThat(n.get("companyId").asText()).isIn("acme", "globex");
            Instant.parse(n.get("occurredAt").asText());
            switch (family) {
                case "metrics" -> {
                    assertThat(n.get("value").isNumber()).isTrue();
                    assertThat(n.get("metric").asText()).isEqualTo(name);
                }
                case "q2q" -> assertThat(n.get("score").asDouble()).isBetween(0.0, 1.0);
                case "journey" -> {
                    assertThat(n.get("value").isBoolean()).isTrue();
                    assertThat(n.get("userId").asText()).isNotEmpty();
                }
                default -> throw new AssertionError("unexpected subject " + s.subject());
            }
        }
        assertThat(families).containsExactlyInAnyOrder("metrics", "q2q", "journey");
    }

    @Test
    void badOptionsNameTheOptionAndValue() {
        CliRun rate = CliRun.of("sample", "--rate", "fast");
        assertThat(rate.exit()).isEqualTo(2);
        assertThat(rate.errLines()).singleElement().asString().startsWith("error [sample]: ").contains("--rate").contains("fast")
                .doesNotContain("For input string");
        assertThat(CliRun.of("sample", "--rate", "0").err()).contains("--rate 0 must be a positive");
        assertThat(CliRun.of("sample", "--companies", "ok,not ok").err()).contains("not ok");
        CliRun nope = CliRun.of("sample", "--nope", "1");
        assertThat(nope.exit()).isEqualTo(2);
        assertThat(nope.err()).contains("--nope").contains("see bin/csr sample --help");
    }
}
