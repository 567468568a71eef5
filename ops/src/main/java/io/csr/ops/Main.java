package io.csr.ops;

import io.csr.common.cli.Csr;
import io.csr.common.config.CsrConfig;

/**
 * The Java side of {@code bin/csr}: the command tree of {@link Csr} (ops' commands are listed in
 * {@code META-INF/csr/commands}, one class each), with bin/csr's contract (io.csr.common.cli.Cli).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(CsrConfig.fromEnvironment(), args));
    }

    /** Runs one command line with {@code config} (tests give their own); returns the exit code. */
    static int run(CsrConfig config, String[] args) {
        return Csr.tree(config).execute(args);
    }
}
