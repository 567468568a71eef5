package io.csr.perf.cohort;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The cohort benchmark's options (bin/csr bench cohort hands them on) on the CLI contract: typed, checked before anything runs. */
class CohortBenchCliTest {
    @Test
    void theDefaultsAndTheDriversOptionsParse() {
        CohortBench.Options o = new CohortBench.Options();
        Cli.commandLine(o).parseArgs("--rows", "1000", "--range-days", "365", "--figures", "observations", "--regenerate", "--rule-cohorts", "-1");
        assertThat(List.<Object>of(o.rows, o.users, o.cohorts, o.requests, o.rangeDays, o.figures, o.layout, o.regenerate, o.database, o.ruleCohorts))
                .containsExactly(1000L, 100_000, 200, 40, 365, "observations", "compacted", true, "csr_bench_cohort", -1);
    }

    @Test
    void aBadValueIsOneUsageLineBeforeAnythingRuns() {
        assertThat(oneLine("--range-days", "400")).startsWith("error [bench cohort]: --range-days 400: the data covers 2026");
        assertThat(oneLine("--layout", "sorted")).startsWith("error [bench cohort]: --layout sorted: use compacted");
        assertThat(oneLine("--rows", "many")).startsWith("error [bench cohort]: ").contains("'many'");
    }

    /**
     * Should a check let a bad value through, the benchmark would run: on a database of its own with a thousand rows,
     * never on the benchmark's data set (csr_bench_cohort, ten million rows).
     */
    private static String oneLine(String... args) {
        List<String> all = new ArrayList<>(List.of("--database", "csr_test_cohort_cli"));
        if (!List.of(args).contains("--rows")) {
            all.addAll(List.of("--rows", "1000"));
        }
        all.addAll(List.of(args));
        return CliContract.usageLine(() -> Cli.commandLine(new CohortBench.Options()), all);
    }
}
