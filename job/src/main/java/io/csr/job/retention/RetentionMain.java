package io.csr.job.retention;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;

import java.time.Clock;

/**
 * One retention run from the command line (for a {@code csr} command or cron when the job runs on a cluster, where the
 * job's own scheduler does not run): drops old partitions per RETENTION_MONTHS / RETENTION_DEAD_LETTER_MONTHS and compacts months
 * (RETENTION_COMPACT_MONTHS), prints what it did, exits 1 when a table could not be processed.
 */
public final class RetentionMain {
    private RetentionMain() {
    }

    public static void main(String[] args) {
        CsrConfig config = CsrConfig.fromEnvironment();
        try (ClickHouseAccess clickHouse = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            PartitionRetention.Report report = new PartitionRetention(clickHouse, RetentionOptions.from(config), Clock.systemUTC()).runOnce();
            report.dropped().forEach(d -> System.out.printf("dropped %s partition %s (%d rows)%n", d.table(), d.partition(), d.rows()));
            report.compacted().forEach(c -> System.out.printf("compacted %s month %s (%d parts, %d rows) into one part%n",
                    c.table(), c.partition(), c.partsBefore(), c.rows()));
            report.failures().forEach(f -> System.err.printf("FAILED %s: %s%n", f.table(), f.message()));
            System.out.printf("retention on %s: %d partitions dropped, %d rows; %d months compacted%n", clickHouse.database(),
                    report.dropped().size(), report.rowsDropped(), report.compacted().size());
            if (!report.failures().isEmpty()) {
                System.exit(1);
            }
        }
    }
}
