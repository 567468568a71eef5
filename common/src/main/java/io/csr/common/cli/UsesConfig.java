package io.csr.common.cli;

import io.csr.common.config.CsrConfig;

/**
 * A command that reads the process configuration: {@link Csr#tree} hands it the one {@link CsrConfig} of the
 * process (tests hand their own), so no command reads the environment itself.
 */
public interface UsesConfig {
    void useConfig(CsrConfig config);
}
