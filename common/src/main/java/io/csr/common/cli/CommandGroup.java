package io.csr.common.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that only groups subcommands ({@code cluster up|down|status}, {@code run job|gateway}): given none, it is
 * a usage error naming them. Subcommands come from {@code @Command(subcommands = …)} or from the index of any module
 * ({@code cluster up-ha = …}), so another module can add one without touching the group.
 */
@Command(mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND")
public class CommandGroup implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw Cli.usage(spec, "give one of: " + String.join(", ", spec.subcommands().keySet()));
    }
}
