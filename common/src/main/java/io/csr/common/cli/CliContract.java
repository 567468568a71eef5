package io.csr.common.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What every command of a tree must do, checked by walking it (each module's contract test runs this over the tree its
 * class path builds): {@code --help} prints generated usage and exits 0; an unknown option, and a value of the wrong
 * type for each typed option, exit {@value Cli#USAGE} with exactly one {@code error [command]: …} line naming the
 * value — never Java's "For input string" (a command that hands unknown arguments on, as {@code test} does to Maven,
 * is spared the unknown option). Nothing runs: every case fails while parsing.
 */
public final class CliContract {
    private static final Set<Class<?>> TYPED = Set.of(int.class, Integer.class, long.class, Long.class, double.class,
            Double.class, Duration.class);

    private CliContract() {
    }

    /** One run of a command line and what it printed. */
    public record Run(List<String> args, int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    /** The breaches of the contract in the tree {@code fresh} builds (a new tree per run); empty when it holds. */
    public static List<String> violations(Supplier<CommandLine> fresh) {
        List<String> problems = new ArrayList<>();
        for (CommandLine c : Cli.walk(fresh.get())) {
            List<String> path = Arrays.asList(Cli.name(c).split(" "));
            if (c.getCommandSpec().parent() == null) {
                path = List.of();
            }
            String name = String.join(" ", path);
            Run help = run(fresh, path, "--help");
            if (help.exit != 0 || !help.out.startsWith("Usage: " + (Csr.NAME + " " + name).strip())) {
                problems.add("'" + name + " --help' exited " + help.exit + " and printed: " + help.out + help.err);
            }
            if (c.getCommandSpec().unmatchedArgsBindings().isEmpty()) { // not one that hands its arguments on (test → Maven)
                checkUsageError(problems, name, run(fresh, path, "--no-such-option"), "--no-such-option");
            }
            for (OptionSpec o : c.getCommandSpec().options()) {
                if (TYPED.contains(o.type())) {
                    checkUsageError(problems, name, run(fresh, path, o.longestName(), "not-a-number"), "not-a-number");
                }
            }
        }
        return problems;
    }

    private static void checkUsageError(List<String> problems, String name, Run r, String named) {
        List<String> lines = r.errLines();
        String label = name.isEmpty() ? Csr.NAME : name;
        if (r.exit != Cli.USAGE || lines.size() != 1 || !lines.get(0).startsWith("error [" + label + "]: ")
                || !lines.get(0).contains(named) || lines.get(0).contains("For input string")) {
            problems.add("'" + String.join(" ", r.args) + "' exited " + r.exit + " with stderr: " + r.err);
        }
    }

    /**
     * The one line a usage error prints: exit {@value Cli#USAGE} and a single {@code error [..]: } line on stderr, else an
     * AssertionError saying what came instead. For commands outside bin/csr's tree too (the benchmark clients).
     */
    public static String usageLine(Supplier<CommandLine> fresh, List<String> args) {
        Run r = run(fresh, args);
        List<String> lines = r.errLines();
        if (r.exit != Cli.USAGE || lines.size() != 1 || !lines.get(0).startsWith("error [")) {
            throw new AssertionError("'" + String.join(" ", r.args) + "' exited " + r.exit + " with stderr: " + r.err);
        }
        return lines.get(0);
    }

    /** Runs {@code path} followed by {@code more} on a fresh tree, capturing its output. */
    public static Run run(Supplier<CommandLine> fresh, List<String> path, String... more) {
        CommandLine root = fresh.get();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        root.setOut(new PrintWriter(out, true));
        root.setErr(new PrintWriter(err, true));
        List<String> args = new ArrayList<>(path);
        args.addAll(List.of(more));
        int exit = root.execute(args.toArray(String[]::new));
        return new Run(args, exit, out.toString(), err.toString());
    }
}
