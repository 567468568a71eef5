package io.csr.job.backfill;

import io.csr.job.runtime.RuntimeOptions;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/** The options {@code bin/csr backfill} and {@code bootstrap} share: which companies of event_log, how parallel, how split. */
public final class HistoryOptions {
    @Option(names = "--companies", paramLabel = "A,B", split = ",", description = "only these companies (default: all)")
    List<String> companies = List.of();

    @Option(names = "--parallelism", paramLabel = "N", description = "parallel readers and operators, 1-64 (default: JOB_PARALLELISM)")
    Integer parallelism;

    @Option(names = "--split-hours", paramLabel = "H", defaultValue = "24",
            description = "hours of event_log one reader split covers, 1-744 (default: ${DEFAULT-VALUE})")
    int splitHours;

    /** The companies given, trimmed, blanks dropped (a {@link BackfillRange} checks that each is a company id). */
    public List<String> companyIds() {
        return companies.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public Duration split() {
        return Duration.ofHours(splitHours);
    }

    /** --parallelism, else JOB_PARALLELISM; outside 1-64 a usage error. */
    public int parallelism(RuntimeOptions runtime, Function<String, RuntimeException> usage) {
        int p = parallelism == null ? runtime.parallelism() : parallelism;
        if (p < 1 || p > 64) {
            throw usage.apply("--parallelism " + p + " must be a whole number between 1 and 64");
        }
        return p;
    }

    /** The split and the companies checked as {@link BackfillRange} will check them, before the range is known. */
    public void check(Function<String, RuntimeException> usage) {
        if (splitHours < 1 || splitHours > 744) {
            throw usage.apply("--split-hours " + splitHours + " must be between 1 and 744 (a split is one parallel unit of reading)");
        }
        for (String c : companyIds()) {
            if (!c.matches("[A-Za-z0-9_-]{1,64}")) {
                throw usage.apply("--companies: '" + c + "' is not a company id ([A-Za-z0-9_-]{1,64})");
            }
        }
    }
}
