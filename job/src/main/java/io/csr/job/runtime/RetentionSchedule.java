package io.csr.job.runtime;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.job.retention.PartitionRetention;
import io.csr.job.retention.RetentionOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Partition retention beside an embedded job: runs {@link PartitionRetention} now and every RETENTION_CHECK_HOURS on
 * a thread of its own, with a ClickHouse client it owns; closing stops both. A job submitted to a cluster does not
 * schedule it (main only builds the graph there); run {@code RetentionMain} from cron instead.
 */
public final class RetentionSchedule implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetentionSchedule.class);

    private final ClickHouseAccess clickHouse;
    private final ScheduledExecutorService executor;

    private RetentionSchedule(ClickHouseAccess clickHouse, ScheduledExecutorService executor) {
        this.clickHouse = clickHouse;
        this.executor = executor;
    }

    /** Started for an embedded launch with scheduling on; otherwise a no-op. */
    public static RetentionSchedule start(JobLaunch launch) {
        CsrConfig config = launch.config();
        RetentionOptions options = RetentionOptions.from(config);
        if (!launch.embedded() || !options.scheduled()) {
            return new RetentionSchedule(null, null);
        }
        ClickHouseAccess clickHouse = ClickHouseAccess.open(ClickHouseSettings.from(config));
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "csr-retention");
            t.setDaemon(true);
            return t;
        });
        new PartitionRetention(clickHouse, options, Clock.systemUTC()).schedule(executor);
        LOG.info("partition retention scheduled every {} (RETENTION_CHECK_HOURS)", options.checkEvery());
        return new RetentionSchedule(clickHouse, executor);
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
        if (clickHouse != null) {
            clickHouse.close();
        }
    }
}
