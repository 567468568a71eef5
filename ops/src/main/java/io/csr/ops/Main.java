package io.csr.ops;

import io.csr.common.config.ConfigException;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.MigrationException;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** The Java side of {@code bin/csr}: one subcommand per class, dispatched by name. */
public final class Main {
    /** A subcommand: gets the process config and its arguments, returns the exit code. */
    public interface Command {
        int run(CsrConfig config, String[] args) throws Exception;

        String summary();
    }

    private static final Map<String, Command> COMMANDS = new TreeMap<>();

    static {
        COMMANDS.put("up", new UpCommand());
        COMMANDS.put("status", new StatusCommand());
        COMMANDS.put("migrate", new MigrateCommand());
        COMMANDS.put("config", new ConfigTableCommand());
        COMMANDS.put("sample", new SampleCommand());
        COMMANDS.put("token", new TokenCommand());
        COMMANDS.put("refresh-views", new RefreshViewsCommand());
    }

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(CsrConfig.fromEnvironment(), args));
    }

    static int run(CsrConfig config, String[] args) {
        if (args.length == 0 || !COMMANDS.containsKey(args[0])) {
            System.err.println("usage: io.csr.ops.Main <command>; commands:");
            COMMANDS.forEach((name, c) -> System.err.printf("  %-10s %s%n", name, c.summary()));
            return 2;
        }
        try {
            return COMMANDS.get(args[0]).run(config, Arrays.copyOfRange(args, 1, args.length));
        } catch (ConfigException | MigrationException | IllegalArgumentException e) {
            System.err.println("error [" + args[0] + "]: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            System.err.println("error [" + args[0] + "]: " + e);
            e.printStackTrace(System.err);
            return 1;
        }
    }
}
