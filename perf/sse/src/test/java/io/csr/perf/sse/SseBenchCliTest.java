package io.csr.perf.sse;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** SseBench's options on the CLI contract, as bin/csr bench fanout hands them (BenchCommands.Fanout.sseBench). */
class SseBenchCliTest {
    @Test
    void theFanoutDriversArgumentsParse() {
        SseBench.Options o = new SseBench.Options();
        Cli.commandLine(o).parseArgs("--target", "nchan", "--connections", "5000", "--companies", "50", "--rate", "200", "--seconds", "15",
                "--warmup", "3", "--settle", "3", "--company-prefix", "fan", "--out", "f.json", "--url", "http://127.0.0.1:18090/sub",
                "--publish-url", "http://127.0.0.1:18090/pub", "--server-pids", "11, 12,");
        assertThat(List.<Object>of(o.target, o.connections, o.companies, o.rate, o.seconds, o.warmupSeconds, o.settleSeconds,
                o.companyPrefix, o.out, o.url, o.publishUrl, o.serverPids, o.gatewayPid, o.connectBatch))
                .containsExactly(Target.NCHAN, 5000, 50, 200, 15, 3, 3, "fan", "f.json", "http://127.0.0.1:18090/sub",
                        "http://127.0.0.1:18090/pub", List.of(11L, 12L), -1L, 250);
    }

    @Test
    void aTypoOrABadNumberIsOneUsageLine() {
        for (List<String> args : List.of(List.of("--conections", "5"), List.of("--rate", "fast"))) {
            assertThat(CliContract.usageLine(() -> Cli.commandLine(new SseBench.Options()), args)).startsWith("error [bench sse]: ");
        }
    }
}
