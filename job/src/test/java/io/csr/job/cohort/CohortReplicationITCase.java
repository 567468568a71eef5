package io.csr.job.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.job.sink.clickhouse.ClickHouseTestDatabase;
import io.csr.job.sink.clickhouse.MetricRows;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Cohort replication against the real services: a database of its own in PostgreSQL (migrated), a csr_it_ database in
 * ClickHouse, and a MiniCluster job made of the replication branch and a stand-in event stream (metric rows), both
 * into the real exactly-once ClickHouse sink — with no restart strategy, so anything the replication threw would fail
 * the job. Every change is awaited in ClickHouse {@code FINAL} within the contract's 30 s.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class CohortReplicationITCase {
    static final Duration CONTRACT = Duration.ofSeconds(30);
    static final long POLL_MS = 1_000;
    static final String COMPANY = "acme";
    static final String FLOW = "flow";

    /** Keeps the replicator's metrics (cohortReplicationErrors, cohortReplicationLagMs) readable by the tests. */
    static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setConfiguration(METRICS.addToConfiguration(new Configuration()))
                    .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static PostgresTestDatabase pg;
    static ClickHouseTestDatabase ch;
    static JobClient job;
    /** The PostgreSQL database's current name (the outage test renames it away and back). */
    static String pgName;

    @BeforeAll
    static void createDatabases() throws Exception {
        pg = new PostgresTestDatabase("repl");
        pgName = pg.name();
        ch = new ClickHouseTestDatabase("repl");
    }

    /** Once, for every test: MiniClusterExtension makes its cluster the context environment only per test. */
    @BeforeEach
    void startReplicationJobOnce() throws Exception {
        if (job != null) {
            return;
        }
        CohortReplicationOptions options = CohortReplicationOptions.defaults().withPostgres(pg.settings()).withPollIntervalMs(POLL_MS);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        env.configure(conf);
        env.setParallelism(2);
        env.enableCheckpointing(500);
        DataStream<TableRow> events = env.fromSource(new DataGeneratorSource<>(i -> MetricRows.metric(FLOW, i), Long.MAX_VALUE,
                        RateLimiterStrategy.perSecond(20), TypeInformation.of(TableRow.class)),
                WatermarkStrategy.noWatermarks(), "events-stand-in").uid("events-stand-in");
        events.union(CohortReplication.stream(env, options, CohortReplicator.fromPostgres(options)))
                .sinkTo(ClickHouseSink.builder().clickHouse(ch.settings()).sinkId("it-cohorts").build())
                .name("clickhouse").uid("clickhouse");
        job = env.executeAsync("cohort-replication-it");
    }

    @AfterAll
    static void stop() throws Exception {
        CohortReplicationTesting.cancelAndDrop(job, ch, pg);
    }

    // ---- PostgreSQL side

    static Connection pgConnection() throws SQLException {
        return pg.connect(pgName);
    }

    static void pgRun(String... statements) throws SQLException {
        try (Connection c = pgConnection(); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }

    static long newCohort(String name) throws SQLException {
        try (Connection c = pgConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO cohorts (company_id, name, description) VALUES (?, ?, 'it') RETURNING id")) {
            ps.setString(1, COMPANY);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static String join(long cohort, String user) {
        return "INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (" + cohort + ", '" + COMPANY + "', '" + user + "')";
    }

    static String leave(long cohort, String user) {
        return "UPDATE user_cohorts SET left_at = now() WHERE cohort_id = " + cohort + " AND user_id = '" + user + "' AND left_at IS NULL";
    }

    static OffsetDateTime updatedAt(long cohort, String user) throws SQLException {
        try (Connection c = pgConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT max(updated_at) FROM user_cohorts WHERE cohort_id = " + cohort + " AND user_id = '" + user + "'")) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }

    // ---- ClickHouse side (FINAL, as readers do)

    static Optional<JsonNode> cohortRow(long id) {
        List<JsonNode> rows = ch.access().query("SELECT name, deleted, version FROM cohorts FINAL WHERE company_id = "
                + SqlLiteral.string(COMPANY) + " AND id = " + id);
        return rows.stream().findFirst();
    }

    static Optional<JsonNode> member(long cohort, String user) {
        List<JsonNode> rows = ch.access().query("SELECT active, toUnixTimestamp(left_at) AS left_at, version FROM user_cohorts FINAL "
                + "WHERE company_id = " + SqlLiteral.string(COMPANY) + " AND cohort_id = " + cohort + " AND user_id = " + SqlLiteral.string(user));
        return rows.stream().findFirst();
    }

    static boolean isActive(long cohort, String user) {
        return member(cohort, user).map(m -> m.get("active").asInt() == 1).orElse(false);
    }

    static boolean hasLeft(long cohort, String user) {
        return member(cohort, user).map(m -> m.get("active").asInt() == 0 && m.get("left_at").asLong() > 0).orElse(false);
    }

    static long members(long cohort) {
        return ch.count("SELECT count() AS c FROM user_cohorts FINAL WHERE cohort_id = " + cohort + " AND active = 1");
    }

    /** Awaits a replicated change within the contract's 30 s and prints how long it took (the docs quote these). */
    static void within30s(String what, org.awaitility.core.ThrowingRunnable assertion) {
        long start = System.nanoTime();
        await(what).atMost(CONTRACT).pollInterval(Duration.ofMillis(100)).untilAsserted(assertion);
        System.out.printf("cohort replication latency: %s in %d ms%n", what, (System.nanoTime() - start) / 1_000_000);
    }

    static JobStatus jobStatus() throws Exception {
        return job.getJobStatus().get(10, TimeUnit.SECONDS);
    }

    // ---- the tests

    @Test
    @Order(1)
    void createUpdateLeaveReAddAndSoftDeleteReachClickHouseFinalWithin30s() throws Exception {
        long id = newCohort("mentors");
        pgRun(join(id, "u1"), join(id, "u2"));
        within30s("cohort and its two members replicated", () -> {
            assertThat(cohortRow(id)).hasValueSatisfying(c -> assertThat(c.get("name").asText()).isEqualTo("mentors"));
            assertThat(members(id)).isEqualTo(2);
        });

        pgRun("UPDATE cohorts SET name = 'mentors 2026' WHERE id = " + id, leave(id, "u1"));
        within30s("rename and leave replicated", () -> {
            assertThat(cohortRow(id)).hasValueSatisfying(c -> assertThat(c.get("name").asText()).isEqualTo("mentors 2026"));
            assertThat(hasLeft(id, "u1")).as("u1 left: active 0 with its left_at").isTrue();
            assertThat(isActive(id, "u2")).isTrue();
        });

        pgRun(join(id, "u1"));
        within30s("re-added user is active again (new stint)", () -> assertThat(isActive(id, "u1")).isTrue());
        long versionAfterReAdd = member(id, "u1").orElseThrow().get("version").asLong();
        assertThat(versionAfterReAdd).isEqualTo(updatedAt(id, "u1").toInstant().toEpochMilli());

        pgRun("UPDATE cohorts SET deleted_at = now() WHERE id = " + id);
        within30s("soft delete replicated", () ->
                assertThat(cohortRow(id)).hasValueSatisfying(c -> assertThat(c.get("deleted").asInt()).isEqualTo(1)));
        assertThat(ch.count("SELECT count() AS c FROM user_cohorts FINAL WHERE cohort_id = " + id))
                .as("one ClickHouse row per (cohort, user), whatever the number of stints").isEqualTo(2);
        assertThat(jobStatus()).isEqualTo(JobStatus.RUNNING);
    }

    @Test
    @Order(2)
    void rowsSharingOneUpdatedAtAllArrive() throws Exception {
        long a;
        long b;
        try (Connection c = pgConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("INSERT INTO cohorts (company_id, name) VALUES ('" + COMPANY + "', 'tie-a'), ('"
                        + COMPANY + "', 'tie-b') RETURNING id")) {
                    rs.next();
                    a = rs.getLong(1);
                    rs.next();
                    b = rs.getLong(1);
                }
                for (int i = 0; i < 50; i++) {
                    st.execute(join(i % 2 == 0 ? a : b, "tie-" + i));
                }
            }
            c.commit();
        }
        try (Connection c = pgConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT count(DISTINCT updated_at) FROM user_cohorts WHERE cohort_id IN (" + a + ", " + b + ")")) {
            rs.next();
            assertThat(rs.getInt(1)).as("one transaction: every row has the same updated_at").isEqualTo(1);
        }
        within30s("both cohorts and all 50 members", () -> {
            assertThat(cohortRow(a)).isPresent();
            assertThat(cohortRow(b)).isPresent();
            assertThat(members(a)).isEqualTo(25);
            assertThat(members(b)).isEqualTo(25);
        });
    }

    @Test
    @Order(3)
    void aTransactionStartedBeforeAnotherButCommittedAfterItIsNotMissed() throws Exception {
        long id = newCohort("late-commit");
        try (Connection late = pgConnection()) {
            late.setAutoCommit(false);
            try (Statement st = late.createStatement()) {
                st.execute(join(id, "late"));               // updated_at = this transaction's start
            }
            pgRun(join(id, "early"));                       // starts later, commits first
            within30s("the early transaction is replicated", () -> assertThat(isActive(id, "early")).isTrue());
            // Let the replication poll well past the late transaction's start: a marker written 3 s later must arrive
            // first, so polls with PostgreSQL's clock beyond start + safety lag + poll interval have happened.
            Thread.sleep(3_000);
            pgRun(join(id, "marker"));
            within30s("a marker written after that is replicated", () -> assertThat(isActive(id, "marker")).isTrue());
            late.commit();
        }
        assertThat(updatedAt(id, "late")).as("the late commit carries a timestamp older than rows already replicated")
                .isBefore(updatedAt(id, "marker"));
        within30s("the late commit is replicated", () -> assertThat(isActive(id, "late")).isTrue());
        assertThat(members(id)).isEqualTo(3);
    }

    @Test
    @Order(4)
    void anOlderTransactionWritingTheSameRowLastStillWinsInClickHouse() throws Exception {
        long id = newCohort("stale-writer");
        try (Connection older = pgConnection()) {
            older.setAutoCommit(false);
            try (Statement st = older.createStatement()) {
                st.execute("SELECT 1 FROM cohorts WHERE id = " + id);   // its now() is fixed from here on
                Thread.sleep(50);
                pgRun("UPDATE cohorts SET name = 'by the newer transaction' WHERE id = " + id);
                within30s("the newer transaction's name is replicated", () -> assertThat(cohortRow(id))
                        .hasValueSatisfying(c -> assertThat(c.get("name").asText()).isEqualTo("by the newer transaction")));
                st.execute("UPDATE cohorts SET name = 'by the older transaction, last' WHERE id = " + id);
            }
            older.commit();
        }
        // now() of the older transaction is earlier than the newer one's: without sql/postgres/003's +1 ms bump its
        // version would be lower and ClickHouse would keep the superseded name.
        within30s("the last write wins under FINAL", () -> assertThat(cohortRow(id))
                .hasValueSatisfying(c -> assertThat(c.get("name").asText()).isEqualTo("by the older transaction, last")));
    }

    @Test
    @Order(5)
    void whilePostgresIsUnavailableTheJobKeepsRunningAndReplicationCatchesUpAfterwards() throws Exception {
        long id = newCohort("outage");
        pgRun(join(id, "before"));
        within30s("replicated before the outage", () -> assertThat(isActive(id, "before")).isTrue());
        long errorsBefore = counter("cohortReplicationErrors");

        String away = pg.name() + "_away";
        pg.rename(pgName, away);
        pgName = away;
        try {
            // Changes made while replication cannot reach the database (it connects by the original name).
            pgRun(join(id, "during"), leave(id, "before"), "UPDATE cohorts SET name = 'outage renamed' WHERE id = " + id);
            long flowing = flowRows();
            await("replication reports failed polls").atMost(CONTRACT).until(() -> counter("cohortReplicationErrors") >= errorsBefore + 3);
            assertThat(gauge("cohortReplicationLagMs")).as("lag grows while paused").isGreaterThan(2 * POLL_MS);
            await("events keep flowing into ClickHouse meanwhile").atMost(CONTRACT).until(() -> flowRows() >= flowing + 40);
            assertThat(jobStatus()).isEqualTo(JobStatus.RUNNING);
            assertThat(isActive(id, "during")).as("nothing replicated while PostgreSQL is away").isFalse();
        } finally {
            pg.rename(away, pg.name());
            pgName = pg.name();
        }

        within30s("caught up after PostgreSQL came back", () -> {
            assertThat(isActive(id, "during")).isTrue();
            assertThat(hasLeft(id, "before")).isTrue();
            assertThat(cohortRow(id)).hasValueSatisfying(c -> assertThat(c.get("name").asText()).isEqualTo("outage renamed"));
        });
        assertThat(jobStatus()).isEqualTo(JobStatus.RUNNING);
        await("lag back to about one poll").atMost(CONTRACT).until(() -> gauge("cohortReplicationLagMs") < 3 * POLL_MS);
    }

    static long flowRows() {
        return ch.count("SELECT count() AS c FROM metrics_timeseries WHERE company_id = " + SqlLiteral.string(FLOW));
    }

    static long counter(String name) {
        return metric(name).map(m -> ((Counter) m).getCount()).orElse(0L);
    }

    static long gauge(String name) {
        return metric(name).map(m -> ((Number) ((Gauge<?>) m).getValue()).longValue()).orElse(0L);
    }

    static Optional<Metric> metric(String name) {
        return METRICS.getMetricsByGroup().values().stream().filter(ms -> ms.containsKey(name)).map(ms -> ms.get(name)).findFirst();
    }
}
