package io.csr.job.cohort;

import io.csr.job.sink.clickhouse.ClickHouseTestDatabase;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import io.csr.job.testing.RestartingEnvironment;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The replication's read position is checkpointed state: the replication task crashes (an Error, which the replicator
 * does not swallow), Flink restarts it from the last completed checkpoint, and it resumes from the checkpointed
 * watermark — not from the beginning — and still delivers the change that was in flight.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CohortReplicationRestoreITCase {
    static final long POLL_MS = 500;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    /** The watermark of every poll, across task attempts (one JVM), and the switch that crashes the next poll. */
    static final List<Long> READ_FROM = new CopyOnWriteArrayList<>();
    static final AtomicBoolean CRASH_NEXT_POLL = new AtomicBoolean();
    /** Readers opened: one per task attempt of the replicator. */
    static final AtomicInteger READERS_OPENED = new AtomicInteger();

    /** The real reader, recording what it is asked and crashing the task once on request. */
    static final class RecordingReader implements CohortChanges {
        private final CohortChangeReader real;

        RecordingReader(CohortReplicationOptions options) {
            this.real = new CohortChangeReader(options);
            READERS_OPENED.incrementAndGet();
        }

        @Override
        public CohortPoll poll(long watermarkMicros) throws SQLException {
            READ_FROM.add(watermarkMicros);
            if (CRASH_NEXT_POLL.compareAndSet(true, false)) {
                throw new AssertionError("simulated crash of the replication task");
            }
            return real.poll(watermarkMicros);
        }

        @Override
        public void close() {
            real.close();
        }
    }

    PostgresTestDatabase pg;
    ClickHouseTestDatabase ch;
    JobClient job;

    @AfterEach
    void cleanUp() throws Exception {
        CohortReplicationTesting.cancelAndDrop(job, ch, pg);
    }

    @Test
    void aRestoredReplicationResumesFromItsCheckpointedWatermarkAndMissesNothing() throws Exception {
        pg = new PostgresTestDatabase("repl_restore");
        ch = new ClickHouseTestDatabase("repl_restore");
        CohortReplicationOptions options = CohortReplicationOptions.defaults().withPostgres(pg.settings()).withPollIntervalMs(POLL_MS);
        StreamExecutionEnvironment env = RestartingEnvironment.upTo(3);
        env.setParallelism(2);
        env.enableCheckpointing(300);
        CohortReplication.stream(env, options, new CohortReplicator(options, RecordingReader::new))
                .sinkTo(ClickHouseSink.builder().clickHouse(ch.settings()).sinkId("it-cohorts-restore").build())
                .name("clickhouse").uid("clickhouse");
        job = env.executeAsync("cohort-replication-restore-it");

        long cohort;
        try (Connection c = pg.connect(pg.name()); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("INSERT INTO cohorts (company_id, name) VALUES ('acme', 'restore') RETURNING id")) {
                rs.next();
                cohort = rs.getLong(1);
            }
            st.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id) SELECT " + cohort
                    + ", 'acme', 'u-' || g FROM generate_series(1, 200) g");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> activeMembers(cohort) == 200);
        OffsetDateTime loadedAt = updatedAt(cohort, "u-1");
        int pollsSoFar = READ_FROM.size();
        await().atMost(Duration.ofSeconds(30)).until(() -> READ_FROM.size() >= pollsSoFar + 4);   // a few checkpoints on

        try (Connection c = pg.connect(pg.name()); Statement st = c.createStatement()) {
            st.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (" + cohort + ", 'acme', 'in-flight')");
        }
        int beforeCrash = READ_FROM.size();
        CRASH_NEXT_POLL.set(true);
        await().atMost(Duration.ofSeconds(30)).until(() -> !CRASH_NEXT_POLL.get() && READ_FROM.size() >= beforeCrash + 2);

        await("the in-flight change arrives after the restore").atMost(Duration.ofSeconds(30))
                .until(() -> activeMembers(cohort) == 201);
        List<Long> readFrom = List.copyOf(READ_FROM); // the job polls on: a view of the live list would fail when it grows
        List<Long> afterCrash = readFrom.subList(beforeCrash + 1, readFrom.size());
        assertThat(READERS_OPENED.get()).as("the replication task was restarted once").isEqualTo(2);
        assertThat(afterCrash).as("after the restore no poll starts from scratch (a full re-read)").isNotEmpty().doesNotContain(0L);
        assertThat(afterCrash.get(0)).as("the restored watermark is near the bulk load's timestamp")
                .isGreaterThanOrEqualTo(CohortChangeReader.micros(loadedAt) - 5_000_000L);
        assertThat(READ_FROM.get(0)).as("the very first poll of the fresh job read everything").isZero();
    }

    long activeMembers(long cohort) {
        return ch.count("SELECT count() AS c FROM user_cohorts FINAL WHERE cohort_id = " + cohort + " AND active = 1");
    }

    OffsetDateTime updatedAt(long cohort, String user) throws SQLException {
        try (Connection c = pg.connect(pg.name()); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT updated_at FROM user_cohorts WHERE cohort_id = " + cohort + " AND user_id = '" + user + "'")) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }
}
