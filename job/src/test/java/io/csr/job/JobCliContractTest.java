package io.csr.job;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import io.csr.common.cli.Csr;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every command the job module gives bin/csr keeps the CLI contract (io.csr.common.cli.Cli): generated --help, and a
 * usage error on any of them exits 2 with exactly one {@code error [..]} line naming the value — a typo in a number is
 * no longer answered with "For input string".
 */
class JobCliContractTest {
    private static CommandLine tree() {
        return Csr.tree(CsrConfig.of(Map.of()));
    }

    @Test
    void everyCommandHasGeneratedHelpAndOneLineUsageErrors() {
        assertThat(Cli.walk(tree())).extracting(Cli::name).contains("run job", "submit", "savepoint", "jobs", "cluster", "cluster up",
                "cluster down", "cluster status", "backfill", "bootstrap", "retention");
        assertThat(CliContract.violations(JobCliContractTest::tree)).isEmpty();
    }

    @Test
    void badValuesNameTheValueAndTheFix() {
        assertThat(oneLine("bootstrap", "--until", "2026-01-01", "--parallelism", "two"))
                .isEqualTo("error [bootstrap]: Invalid value for option '--parallelism': 'two' is not an int; see bin/csr bootstrap --help");
        assertThat(oneLine("bootstrap", "--until", "2026-02-30"))
                .isEqualTo("error [bootstrap]: --until '2026-02-30' is not a date; use YYYY-MM-DD (UTC), e.g. 2026-11-01; see bin/csr bootstrap --help");
        assertThat(oneLine("bootstrap", "--until", "2999-01-01")).contains("is in the future");
        assertThat(oneLine("backfill", "--from", "2026-01-02", "--to", "2026-01-01")).contains("--to 2026-01-01 is before --from 2026-01-02; swap them");
        assertThat(oneLine("backfill", "--from", "2026-01-01", "--to", "2026-01-01", "--parallelism", "0"))
                .contains("--parallelism 0 must be a whole number between 1 and 64");
        assertThat(oneLine("backfill", "--to", "2026-01-01")).contains("Missing required option: '--from=YYYY-MM-DD'");
        assertThat(oneLine("backfill", "--from", "2026-01-01", "--to", "2026-01-01", "JOB_PARALELISM=2"))
                .contains("'JOB_PARALELISM' in 'JOB_PARALELISM=2' is not a configuration key");
        assertThat(oneLine("submit", "--parallelism", "-3")).contains("--parallelism -3 is not a positive number");
        assertThat(oneLine("savepoint", "not-a-job")).contains("JOB_ID 'not-a-job' is not a Flink job id");
        assertThat(oneLine("cluster", "down", "--forget")).startsWith("error [cluster down]: Unknown option: '--forget'");
        assertThat(oneLine("cluster")).isEqualTo("error [cluster]: give one of: up, status, down; see bin/csr cluster --help");
    }

    private static String oneLine(String... args) {
        CliContract.Run r = CliContract.run(JobCliContractTest::tree, List.of(args));
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.err().lines().filter(l -> !l.isBlank()).toList()).as(r.err()).hasSize(1);
        return r.err().strip();
    }
}
