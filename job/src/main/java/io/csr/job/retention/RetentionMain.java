package io.csr.job.retention;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;

import java.time.Clock;

/**
 * One retention run from the command line (for a {@code csr} command or cron when the job runs on a cluster, where the
 * job's own scheduler does not run): drops old partitions per RETENTION_MONTHS / RETENTION_DEAD_LETTER_MONTHS, prints
 * what it dropped, exits 1 when a table could not be processed.
 */
public final class RetentionMain {
    private RetentionMain() {
    }

    public static void main(String[] args) {
        CsrConfig config = CsrConfig.fromEnvironment();
        try (ClickHouseAccess clickHouse = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            PartitionRetention.Report report = new PartitionRetention(clickHouse, RetentionOptions.from(config), Clock.systemUTC()).runOnce();
            report.dropped().forEach(d -> System.out.printf("dropped %s partition %s (%d rows)%n", d.table(), d.partition(), d.rows()));
            report.failures().forEach(f -> System.err.printf("FAILED %s: %s%n", f.table(), f.message()));
            System.out.printf("retention on %s: %d partitions dropped, %d rows%n", clickHouse.database(),
                    report.dropped().size(), report.rowsDropped());
            if (!report.failures().isEmpty()) {
                System.exit(1);
            }
        }
    }
}
