package io.csr.job.cohort;

import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Adds the cohort replication branch to the job graph: a rate-limited tick source (one tick per poll interval) and
 * {@link CohortReplicator}, both at parallelism 1, whose rows join the job's ClickHouse rows before the exactly-once
 * sink. Stable uids: restores depend on them.
 *
 * <p>Why not flink-connector-jdbc's {@code JdbcSource}: its continuous mode advances a fixed time window
 * ({@code JdbcSlideTimingParameterProvider}), which cannot hold back for a transaction still open, and its split reader
 * turns an SQLException into a task failure, which restarts the whole job (events included) while PostgreSQL is down.
 * The connector's connection handling ({@code SimpleJdbcConnectionProvider}) is used as is in {@link CohortChangeReader}.
 */
public final class CohortReplication {
    public static final String TICKS_UID = "cohort-replication-ticks";
    public static final String REPLICATOR_UID = "cohort-replication";

    private CohortReplication() {
    }

    /** {@code rows} joined with the replication's rows, or {@code rows} itself when replication is off. */
    public static DataStream<TableRow> union(DataStream<TableRow> rows, CohortReplicationOptions options) {
        return options.enabled() ? rows.union(stream(rows.getExecutionEnvironment(), options, CohortReplicator.fromPostgres(options))) : rows;
    }

    /** The replication branch alone: ticks → {@code replicator} → ClickHouse rows of cohorts and user_cohorts. */
    public static DataStream<TableRow> stream(StreamExecutionEnvironment env, CohortReplicationOptions options,
                                              CohortReplicator replicator) {
        DataGeneratorSource<Long> ticks = new DataGeneratorSource<>(i -> i, Long.MAX_VALUE,
                RateLimiterStrategy.perSecond(1_000.0 / options.pollIntervalMs()), Types.LONG);
        return env.fromSource(ticks, WatermarkStrategy.noWatermarks(), "cohort-replication-ticks")
                .uid(TICKS_UID).setParallelism(1)
                .process(replicator, TypeInformation.of(TableRow.class)).name("cohort-replication")
                .uid(REPLICATOR_UID).setParallelism(1);
    }
}
