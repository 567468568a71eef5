package io.csr.common.cli;

import io.csr.common.config.CsrConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * Base of a command that reads the process configuration: {@link Csr#tree} hands it in (tests hand their own);
 * standalone, the environment's. {@link #call} returns the exit code.
 */
public abstract class CsrCommand implements Callable<Integer>, UsesConfig {
    @Spec
    protected CommandSpec spec;

    private CsrConfig config;

    @Override
    public void useConfig(CsrConfig config) {
        this.config = config;
    }

    protected CsrConfig config() {
        if (config == null) {
            config = CsrConfig.fromEnvironment();
        }
        return config;
    }

    /** A usage error found after parsing: exit 2 with one line naming the value and the fix. */
    protected RuntimeException usage(String message) {
        return Cli.usage(spec, message);
    }
}
