package io.csr.common.cli;

import io.csr.common.config.CsrConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Enumeration;

/**
 * {@code bin/csr}'s command tree, the one source of its help: the commands of every module on the class path, each
 * listed by its module in {@value #INDEX} as {@code PATH = CLASS} ({@code backfill = io.csr.job.backfill.BackfillMain},
 * {@code cluster up = …} adds {@code up} under {@code cluster}). A JVM with ops' class path runs ops' commands, one
 * with the job's class path the job's; {@code bin/csr --help} runs with both and lists all.
 */
@Command(name = Csr.NAME, mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
        description = "CSR Stream Analytics: local services, the Flink job, the gateway, operations and benchmarks.",
        footer = {"", "Every command has --help. Environment: the configuration table (bin/csr config; README.md).",
                "State, logs and pid files live under CSR_STATE_DIR (default: .csr in the checkout).",
                "Exit codes: 0 done, 1 failed, 2 usage error, 3 as the command says (something down, skipped)."})
public final class Csr implements Runnable {
    public static final String NAME = "csr";
    public static final String INDEX = "META-INF/csr/commands";

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw Cli.usage(spec, "give a command");
    }

    public static void main(String[] args) {
        System.exit(tree(CsrConfig.fromEnvironment()).execute(args));
    }

    /**
     * The main of one command ({@code BackfillMain.main}: {@code Csr.exit(args, "backfill")}): runs it inside the tree,
     * so its help and errors name it as bin/csr does, and exits with its code.
     */
    public static void exit(String[] args, String... path) {
        String[] all = new String[path.length + args.length];
        System.arraycopy(path, 0, all, 0, path.length);
        System.arraycopy(args, 0, all, path.length, args.length);
        main(all);
    }

    /** The tree of every command listed on this class loader's path, each handed {@code config}. */
    public static CommandLine tree(CsrConfig config) {
        return tree(config, Csr.class.getClassLoader());
    }

    public static CommandLine tree(CsrConfig config, ClassLoader loader) {
        CommandLine root = new CommandLine(new Csr());
        try {
            for (URL index : Collections.list(indexes(loader))) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(index.openStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        line = line.strip();
                        if (!line.isEmpty() && !line.startsWith("#")) {
                            add(root, line, loader, index);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String version = version(loader);
        for (CommandLine c : Cli.walk(root)) {
            if (c.getCommand() instanceof UsesConfig u) {
                u.useConfig(config);
            }
            c.getCommandSpec().version(version); // -V of every command
        }
        Cli.configure(root);
        return root;
    }

    /** The build's version, from the properties Maven packs into common's jar (none when run from classes). */
    private static String version(ClassLoader loader) {
        try (var in = loader.getResourceAsStream("META-INF/maven/io.csr/csr-common/pom.properties")) {
            java.util.Properties p = new java.util.Properties();
            if (in != null) {
                p.load(in);
            }
            return NAME + " " + p.getProperty("version", "(a build from classes, no version)");
        } catch (IOException e) {
            return NAME;
        }
    }

    private static Enumeration<URL> indexes(ClassLoader loader) throws IOException {
        return loader.getResources(INDEX);
    }

    private static void add(CommandLine root, String line, ClassLoader loader, URL index) {
        int eq = line.indexOf('=');
        if (eq < 0) {
            throw new IllegalStateException(index + ": '" + line + "' is not PATH = CLASS");
        }
        String[] path = line.substring(0, eq).strip().split("\\s+");
        String className = line.substring(eq + 1).strip();
        CommandLine parent = root;
        for (int i = 0; i < path.length - 1; i++) {
            CommandLine next = parent.getSubcommands().get(path[i]);
            if (next == null) { // the module that describes the group is not on this class path: a bare group
                parent.addSubcommand(path[i], new CommandGroup());
                next = parent.getSubcommands().get(path[i]);
            }
            parent = next;
        }
        Object command;
        try {
            java.lang.reflect.Constructor<?> create = Class.forName(className, true, loader).getDeclaredConstructor();
            create.setAccessible(true); // command classes stay package-private in their modules
            command = create.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(index + ": cannot create command " + className + ": " + e, e);
        }
        String name = path[path.length - 1];
        CommandLine existing = parent.getSubcommands().get(name);
        if (existing == null) {
            parent.addSubcommand(name, command);
        } else {
            // a module adds subcommands to a group another module defined (e.g. run job beside run gateway)
            CommandLine more = new CommandLine(command);
            more.getSubcommands().forEach(existing::addSubcommand);
        }
    }
}
