package io.csr.job.perf;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** bench job's options (bin/csr bench job hands them on) on the CLI contract: typed, a typo one usage line. */
class JobIngestBenchmarkCliTest {
    @Test
    void theDefaultsAndAPreloadRunParse() {
        JobIngestBenchmark.Options o = new JobIngestBenchmark.Options();
        Cli.commandLine(o).parseArgs("--events", "1000", "--preload-ids", "86_400_000", "--mode", "backlog", "--preload-savepoint", "sp");
        assertThat(List.<Object>of(o.events, o.preloadIds, o.mode, o.preloadSavepoint, o.checkpointMs, o.parallelism, o.maxMinutes, o.preloadFormat))
                .containsExactly(1000, "86_400_000", "backlog", Path.of("sp"), "5000", "3", 15L, "native");
        assertThat(o.stateBackend).as("chosen by the run: rocksdb with --preload-ids").isNull();
        assertThat(o.partitions).as("unpartitioned subjects unless asked").isEqualTo(1);
        JobIngestBenchmark.Options partitioned = new JobIngestBenchmark.Options();
        Cli.commandLine(partitioned).parseArgs("--parallelism", "4", "--partitions", "4");
        assertThat(partitioned.partitions).isEqualTo(4);
    }

    @Test
    void aTypoOrABadNumberIsOneUsageLine() {
        for (List<String> args : List.of(List.of("--event", "5"), List.of("--events", "many"))) {
            assertThat(CliContract.usageLine(() -> Cli.commandLine(new JobIngestBenchmark.Options()), args)).startsWith("error [bench job]: ");
        }
    }
}
