package io.csr.perf.soak;

import io.csr.common.migrate.Migrations;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** What the soak ITCases share: a soak of the checkout under target/, its work dir named by the run, its verdict asserted. */
final class TestSoaks {
    private TestSoaks() {
    }

    /** {@code target/<name>} of the module the test runs in. */
    static Path target(String name) {
        return Path.of("target").toAbsolutePath().resolve(name);
    }

    /** Runs the soak (work dir {@code target/<name>-<ms>}) and fails, naming where to look, unless its verdict held. */
    static void passes(String name, Path results, double minutes, int faults, long seed, int rate, int companies, Duration settleLimit,
                       boolean ha) throws Exception {
        Path work = target(name + "-" + System.currentTimeMillis());
        boolean pass = new Soak(new Soak.Options(minutes, faults, seed, rate, companies, Migrations.sqlRoot().getParent(), work, results,
                settleLimit, ha)).run();
        assertThat(pass).as("the %s verdict (failures in %s and the JSON under %s)", name, work, results).isTrue();
    }
}
