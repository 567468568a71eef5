package io.csr.ops;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import io.csr.common.cli.Csr;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every command ops gives bin/csr keeps the CLI contract (io.csr.common.cli.Cli): generated --help, and a usage error
 * on any of them — an unknown option, a value of the wrong type — exits 2 with exactly one {@code error [..]} line.
 */
class CliContractTest {
    private static CommandLine tree() {
        return Csr.tree(CsrConfig.of(Map.of()));
    }

    @Test
    void everyCommandHasGeneratedHelpAndOneLineUsageErrors() {
        assertThat(Cli.walk(tree())).extracting(Cli::name)
                .contains("up", "status", "down", "build", "test", "migrate", "config", "demo", "sample", "token", "start", "stop",
                        "run", "run gateway", "refresh-views", "demo-cohorts");
        assertThat(CliContract.violations(CliContractTest::tree)).isEmpty();
    }

    @Test
    void theRootListsEveryCommandAndRefusesAnUnknownOne() {
        CliContract.Run help = CliContract.run(CliContractTest::tree, List.of(), "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("Usage: csr [-hV] COMMAND").contains("refresh-views").contains("Exit codes");
        CliContract.Run unknown = CliContract.run(CliContractTest::tree, List.of("frobnicate"));
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err().lines().toList()).singleElement().asString().startsWith("error [csr]: ").contains("frobnicate");
        CliContract.Run none = CliContract.run(CliContractTest::tree, List.of("run"));
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("error [run]: give one of: gateway");
    }

    @Test
    void aValidationErrorAfterParsingIsAUsageErrorToo() {
        CliContract.Run r = CliContract.run(CliContractTest::tree, List.of("refresh-views", "--lock-wait-seconds", "-1"));
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines().toList()).singleElement().asString()
                .isEqualTo("error [refresh-views]: --lock-wait-seconds -1 is negative; give 0 or more seconds; see bin/csr refresh-views --help");
    }
}
