package io.csr.perf.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** BenchReport's command line as the bench drivers call it (BenchCommands.report), on the CLI contract. */
class BenchReportCliTest {
    @Test
    void theReplayDriversCallWritesTheRowsAndMarksAnExpectedTargetWithoutResult(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("replay-x.d"));
        Files.writeString(run.resolve("replay-ours.json"), "{\"server\":\"ours\",\"missed\":10000,\"catchUpMedianMs\":480.0}");

        CliContract.Run r = report("replay", run.toString(), dir.resolve("replay-x").toString(), "--expected", "ours,nchan");

        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode rows = Json.mapper().readTree(dir.resolve("replay-x.json").toFile()).path("rows");
        assertThat(rows).hasSize(2);
        assertThat(rows.get(1).path("server").asText()).isEqualTo("nchan");
        assertThat(rows.get(1).path("complete").asBoolean()).isFalse();
    }

    @Test
    void aMissingArgumentIsOneUsageLine(@TempDir Path dir) {
        for (List<String> args : List.of(List.of("fanout", dir.toString()), List.of("fanout", dir.toString(), "out", "--expected", "1000"),
                List.of("frobnicate"))) {
            assertThat(CliContract.usageLine(() -> Cli.commandLine(new BenchReport.Report()), args)).startsWith("error [bench-report");
        }
    }

    private static CliContract.Run report(String... args) {
        return CliContract.run(() -> Cli.commandLine(new BenchReport.Report()), List.of(args));
    }
}
