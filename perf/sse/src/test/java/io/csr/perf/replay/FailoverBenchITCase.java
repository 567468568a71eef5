package io.csr.perf.replay;

import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 24's "kill -9 of a gateway with 3,000 open streams → every stream resumes with no gap" on every build: three
 * gateways behind the real HAProxy (the shipped configuration), 3,000 streams over 150 companies through it, the
 * publisher running, the busiest gateway killed; every stream's ids must be exactly its company's published ids and
 * every cut stream must have resumed ({@link FailoverBench}, the check of {@code bin/csr bench failover}). Needs the
 * gateway jar this build packaged (as {@code SoakITCase} does), Redis, and {@code /usr/sbin/haproxy}; its own Redis key
 * prefix. About 1–2 minutes on a loaded 2-core machine.
 */
class FailoverBenchITCase {
    @Test
    void killMinus9OfTheBusiestOfThreeGatewaysWith3000StreamsEveryStreamResumesExactly() throws Exception {
        Path root = Migrations.sqlRoot().getParent();
        Path work = Path.of("target").toAbsolutePath().resolve("failover-" + System.currentTimeMillis());
        Map<String, Object> row = FailoverBench.run(new FailoverBench.Settings(FailoverBench.gatewayClasspath(root), 3, 3_000, 150,
                500, 5, 3, 60, true, work));
        String json = io.csr.common.json.Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(row);
        Files.writeString(Path.of("target").toAbsolutePath().resolve("failover-result.json"), json + "\n");
        System.out.println(json);

        assertThat(row.get("lost")).as("what the check found (gateway and HAProxy logs in %s): %s", work, row.get("examples"))
                .isEqualTo(Map.of("streamsNotExact", 0, "streamsWithGaps", 0, "streamsWithRepeats", 0, "streamsWithResets", 0,
                        "movedStreamsNotResumed", 0, "noStreamMoved", 0));
        assertThat(row.get("complete")).isEqualTo(true);
        assertThat((Integer) row.get("movedStreams")).as("streams the kill cut: the killed gateway's, about a third").isGreaterThan(500);
        assertThat(row.get("allResumedMs")).as("every cut stream resumed").isNotNull();
    }
}
