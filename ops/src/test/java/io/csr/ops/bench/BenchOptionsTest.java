package io.csr.ops.bench;

import io.csr.common.cli.Cli;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The load options fanout and e2e share (BenchCommands.Load): each driver's own defaults, and one way to override them. */
class BenchOptionsTest {
    @Test
    void fanoutAndE2eKeepTheirOwnDefaults() {
        BenchCommands.Fanout fanout = parse(new BenchCommands.Fanout());
        assertThat(List.of(fanout.load.companies, fanout.load.seconds, fanout.load.warmup, fanout.rate, fanout.prewarm))
                .containsExactly(50, 15, 3, 200, 20);
        BenchCommands.E2e e2e = parse(new BenchCommands.E2e());
        assertThat(List.of(e2e.load.companies, e2e.load.seconds, e2e.load.warmup, e2e.metrics)).containsExactly(10, 20, 15, 4);
    }

    @Test
    void theSharedOptionsAreOverriddenAndShownWithEachDefault() {
        BenchCommands.E2e e2e = parse(new BenchCommands.E2e(), "--seconds", "5", "--warmup", "0", "--companies", "2");
        assertThat(List.of(e2e.load.companies, e2e.load.seconds, e2e.load.warmup)).containsExactly(2, 5, 0);
        assertThat(Cli.commandLine(new BenchCommands.Fanout()).getUsageMessage())
                .contains("measured seconds per run (default: 15)").contains("warm-up seconds per run (default: 3)");
        assertThat(Cli.commandLine(new BenchCommands.E2e()).getUsageMessage()).contains("measured seconds per run (default: 20)");
    }

    @Test
    void theStartLimitOfTheDriversThatStartServicesIsAnOption() {
        assertThat(List.of(parse(new BenchCommands.Fanout()).start.seconds, parse(new BenchCommands.Replay()).start.seconds,
                parse(new BenchCommands.E2e()).start.seconds)).containsOnly(180L);
        assertThat(parse(new BenchCommands.Replay(), "--start-seconds", "600").start.duration()).hasMinutes(10);
        assertThat(Cli.commandLine(new BenchCommands.E2e()).getUsageMessage()).contains("--start-seconds=S");
    }

    @Test
    void fanoutRunsThroughTheBalancerOnlyWhenGatewaysAreGivenAndFailoverIsABenchOfItsOwn() {
        assertThat(parse(new BenchCommands.Fanout()).gateways).isEmpty();
        assertThat(parse(new BenchCommands.Fanout(), "--gateways", "1,3").gateways).containsExactly(1, 3);
        assertThat(Cli.commandLine(new BenchCommands()).getSubcommands()).containsKey("failover");
        assertThat(parse(new BenchCommands.Failover(), "--streams", "300").clientArgs).as("the client's options pass through")
                .containsExactly("--streams", "300");
    }

    private static <T> T parse(T command, String... args) {
        new CommandLine(command).parseArgs(args);
        return command;
    }
}
