package io.csr.job.retention;

import io.csr.common.cli.Csr;
import io.csr.common.cli.CsrCommand;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import picocli.CommandLine.Command;

import java.time.Clock;

/**
 * One retention run from the command line (for a {@code csr} command or cron when the job runs on a cluster, where the
 * job's own scheduler does not run): drops old partitions per RETENTION_MONTHS / RETENTION_DEAD_LETTER_MONTHS and compacts months
 * (RETENTION_COMPACT_MONTHS), prints what it did, exits 1 when a table could not be processed.
 */
@Command(name = "retention", mixinStandardHelpOptions = true,
        description = {"Drop ClickHouse partitions older than RETENTION_MONTHS now and compact months (RETENTION_COMPACT_MONTHS).",
                "The embedded job does it every RETENTION_CHECK_HOURS itself; cron this when the job runs on a "
                + "cluster. Exit 1 when a table could not be processed."})
public final class RetentionMain extends CsrCommand {
    public static void main(String[] args) {
        Csr.exit(args, "retention");
    }

    @Override
    public Integer call() {
        CsrConfig config = config();
        RetentionOptions options = RetentionOptions.from(config);
        System.out.printf("dropping monthly partitions older than RETENTION_MONTHS=%d (dead letters: RETENTION_DEAD_LETTER_MONTHS=%d)%n",
                options.months(), options.deadLetterMonths());
        try (ClickHouseAccess clickHouse = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            PartitionRetention.Report report = new PartitionRetention(clickHouse, options, Clock.systemUTC()).runOnce();
            report.dropped().forEach(d -> System.out.printf("dropped %s partition %s (%d rows)%n", d.table(), d.partition(), d.rows()));
            report.compacted().forEach(c -> System.out.printf("compacted %s month %s (%d parts, %d rows) into one part%n",
                    c.table(), c.partition(), c.partsBefore(), c.rows()));
            System.out.printf("retention on %s: %d partitions dropped, %d rows; %d months compacted%n", clickHouse.database(),
                    report.dropped().size(), report.rowsDropped(), report.compacted().size());
            if (!report.failures().isEmpty()) {
                report.failures().forEach(f -> System.err.printf("    %s: %s%n", f.table(), f.message()));
                throw new IllegalStateException(report.failures().size() + " table(s) could not be processed (above); "
                        + "re-run after fixing ClickHouse access");
            }
        }
        return 0;
    }
}
