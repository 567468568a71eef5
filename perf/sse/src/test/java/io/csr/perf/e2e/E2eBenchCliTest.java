package io.csr.perf.e2e;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The e2e client's command line (prepare | run [options] | cleanup) on the CLI contract, as bin/csr bench e2e calls it. */
class E2eBenchCliTest {
    @Test
    void theDriversRunArgumentsParse() {
        CommandLine cli = Cli.commandLine(new E2eBench.Client());
        CommandLine.ParseResult parsed = cli.parseArgs("run", "--url", "http://127.0.0.1:18080/stream/updates", "--rates", "1,1000",
                "--seconds", "20", "--warmup", "15", "--companies", "10", "--metrics", "4", "--label", "UPDATE_INTERVAL_MS=100 X=1",
                "--out", "e.json");
        E2eBench.Options o = parsed.subcommand().commandSpec().commandLine().getCommand();
        assertThat(List.<Object>of(o.rates, o.seconds, o.warmupSeconds, o.drainSeconds, o.companies, o.metrics, o.label, o.out))
                .containsExactly(List.of(1, 1000), 20, 15, 15, 10, 4, "UPDATE_INTERVAL_MS=100 X=1", "e.json");
    }

    @Test
    void aTypoOrNoCommandIsOneUsageLine() {
        assertThat(CliContract.usageLine(() -> Cli.commandLine(new E2eBench.Client()), List.of("run", "--rate", "5")))
                .startsWith("error [e2e-client run]: ").contains("--rate");
        assertThat(CliContract.usageLine(() -> Cli.commandLine(new E2eBench.Client()), List.of()))
                .contains("give one of: ").contains("prepare").contains("run").contains("cleanup");
    }
}
