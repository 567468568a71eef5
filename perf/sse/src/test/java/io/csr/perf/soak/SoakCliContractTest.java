package io.csr.perf.soak;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import io.csr.common.cli.Csr;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/csr soak keeps the CLI contract (io.csr.common.cli.Cli) as every other command: generated help, one-line usage errors. */
class SoakCliContractTest {
    private static CommandLine tree() {
        return Csr.tree(CsrConfig.of(Map.of()));
    }

    @Test
    void soakHasGeneratedHelpAndOneLineUsageErrors() {
        assertThat(Cli.walk(tree())).extracting(Cli::name).contains("soak");
        assertThat(CliContract.violations(SoakCliContractTest::tree)).isEmpty();
    }

    @Test
    void itsOwnChecksAreUsageErrorsOfTheContractToo(@TempDir Path dir) throws Exception {
        assertThat(oneLine(List.of("soak", "--minutes", "0")))
                .isEqualTo("error [soak]: --minutes, --rate, --companies and --settle-seconds must be positive, --faults 0 or more; "
                        + "see bin/csr soak --help");
        assertThat(oneLine(List.of("soak", "--topology", "ring"))).startsWith("error [soak]: --topology 'ring': use single");
        Files.writeString(dir.resolve("left-over"), "x");
        assertThat(oneLine(List.of("soak", "--seed", "1", "--work-dir", dir.toString())))
                .startsWith("error [soak]: --work-dir " + dir + " is not empty");
    }

    private static String oneLine(List<String> args) {
        return CliContract.usageLine(SoakCliContractTest::tree, args);
    }
}
