package io.csr.common.cli;

import io.csr.common.config.ConfigException;
import io.csr.common.migrate.MigrationException;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The command-line contract of every Java entry point: picocli commands with typed options and generated help, run
 * through {@link #run}, so that all of them answer alike —
 * <ul>
 *   <li>a usage error (unknown option, a value of the wrong type, a missing required option, a value a command's own
 *       validation refuses via {@link #usage}) prints <em>one</em> line {@code error [command]: … ; see bin/csr command
 *       --help} on stderr and exits {@value #USAGE};</li>
 *   <li>a failure prints {@code error [command]: message} and exits {@value #FAILED} — without a stack trace when the
 *       message is meant for the user (IllegalArgumentException, IllegalStateException, ConfigException,
 *       MigrationException), with one otherwise;</li>
 *   <li>{@code --help} prints the generated usage and exits 0; a command may return other codes it documents (3).</li>
 * </ul>
 */
public final class Cli {
    public static final int USAGE = 2;
    public static final int FAILED = 1;

    private Cli() {
    }

    /** Runs {@code command} (a picocli {@code @Command}) with {@code args}; returns the exit code. */
    public static int run(Object command, String... args) {
        return commandLine(command).execute(args);
    }

    /** A picocli command line with this contract's handlers, for {@code command} and its subcommands. */
    public static CommandLine commandLine(Object command) {
        CommandLine cli = new CommandLine(command);
        configure(cli);
        return cli;
    }

    /** Applies the contract to a command line built elsewhere (and to subcommands added later: call again). */
    public static void configure(CommandLine cli) {
        cli.setParameterExceptionHandler(Cli::usageError);
        cli.setExecutionExceptionHandler(Cli::failure);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setUsageHelpAutoWidth(true);
    }

    /** A usage error found by a command's own validation after parsing: exit {@value #USAGE}, one line. */
    public static ParameterException usage(CommandSpec spec, String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** The command's name as typed after {@code bin/csr}: {@code backfill}, {@code cluster down}. */
    public static String name(CommandLine cli) {
        String q = cli.getCommandSpec().qualifiedName(" ");
        return q.startsWith(Csr.NAME + " ") ? q.substring(Csr.NAME.length() + 1) : q;
    }

    /** Every command of the tree under {@code root}, root first. */
    public static List<CommandLine> walk(CommandLine root) {
        List<CommandLine> all = new ArrayList<>();
        all.add(root);
        for (CommandLine sub : root.getSubcommands().values()) {
            if (!all.contains(sub)) {
                all.addAll(walk(sub));
            }
        }
        return all;
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        String name = name(cli);
        String message = oneLine(e.getMessage());
        if (e instanceof CommandLine.MissingParameterException && !cli.getUnmatchedArguments().isEmpty()) {
            // picocli checks required options before it reports what it could not match: the typo is the news
            message = "Unknown option: '" + cli.getUnmatchedArguments().get(0) + "'";
        }
        if (message.endsWith(".")) {
            message = message.substring(0, message.length() - 1);
        }
        if (e instanceof CommandLine.UnmatchedArgumentException u && !cli.getSubcommands().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            message = "unknown command '" + u.getUnmatched().get(0) + "'; give one of: " + String.join(", ", cli.getSubcommands().entrySet()
                    .stream().filter(c -> !c.getValue().getCommandSpec().usageMessage().hidden()).map(java.util.Map.Entry::getKey).toList());
        }
        String help = name.equals(Csr.NAME) ? "bin/csr --help" : "bin/csr " + name + " --help";
        cli.getErr().println("error [" + name + "]: " + message + "; see " + help);
        cli.getErr().flush();
        return USAGE;
    }

    private static int failure(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        PrintWriter err = cli.getErr();
        boolean forTheUser = e instanceof IllegalArgumentException || e instanceof IllegalStateException
                || e instanceof ConfigException || e instanceof MigrationException;
        err.println("error [" + name(cli) + "]: " + (forTheUser && e.getMessage() != null ? e.getMessage() : e.toString()));
        if (!forTheUser) {
            e.printStackTrace(err);
        }
        err.flush();
        return FAILED;
    }

    private static String oneLine(String s) {
        return s == null ? "invalid usage" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
