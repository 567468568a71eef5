package io.csr.job.cohort;

import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.datasource.connections.JdbcConnectionProvider;
import org.apache.flink.connector.jdbc.datasource.connections.SimpleJdbcConnectionProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reads cohort and membership changes from PostgreSQL, one {@link #poll} at a time, over one connection kept open by
 * flink-connector-jdbc's {@link SimpleJdbcConnectionProvider} (re-established after any error). Each poll runs three
 * autocommit statements, each with a fresh snapshot and in this order: the horizon (server clock and oldest open
 * transaction, see {@link ReplicationWatermark}), then cohorts, then memberships. Any {@link SQLException} drops the
 * connection and goes to the caller, which decides what a failed poll means.
 */
public final class CohortChangeReader implements CohortChanges {
    private static final Logger LOG = LoggerFactory.getLogger(CohortChangeReader.class);

    /**
     * PostgreSQL's clock and the start of the oldest other open transaction of this database (null when none).
     * Autovacuum workers are left out: they never write updated_at, and a long vacuum would hold the watermark back.
     */
    static final String HORIZON_SQL = "SELECT clock_timestamp() AS server_now, "
            + "(SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            + "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            + "AND backend_type IS DISTINCT FROM 'autovacuum worker') AS oldest_open";

    static final String COHORTS_SQL = "SELECT id, company_id, name, description, created_at, updated_at, "
            + "deleted_at IS NOT NULL AS deleted FROM cohorts WHERE updated_at >= ? ORDER BY updated_at, id";

    /**
     * The current state of every (cohort, user) pair with a stint changed since the watermark: the open stint first,
     * else the latest joined; version is the pair's highest updated_at over all its stints.
     */
    static final String MEMBERSHIPS_SQL = "SELECT DISTINCT ON (u.cohort_id, u.user_id) u.cohort_id, u.company_id, u.user_id, "
            + "u.joined_at, u.left_at, max(u.updated_at) OVER (PARTITION BY u.cohort_id, u.user_id) AS version_at "
            + "FROM user_cohorts u WHERE (u.cohort_id, u.user_id) IN "
            + "(SELECT cohort_id, user_id FROM user_cohorts WHERE updated_at >= ?) "
            + "ORDER BY u.cohort_id, u.user_id, (u.left_at IS NULL) DESC, u.joined_at DESC";

    /** Whether this user can see other users' xact_start (superuser or pg_read_all_stats). */
    static final String CAN_SEE_ALL_SQL = "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
            + "OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')";

    private static final int QUERY_TIMEOUT_SECONDS = 30;

    private final CohortReplicationOptions options;
    private final JdbcConnectionProvider connections;
    private boolean visibilityChecked;

    public CohortChangeReader(CohortReplicationOptions options) {
        this.options = options;
        JdbcConnectionOptions.JdbcConnectionOptionsBuilder b = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                .withUrl(options.url())
                .withDriverName("org.postgresql.Driver")
                .withUsername(options.user())
                .withConnectionCheckTimeoutSeconds(5)
                // fail fast when PostgreSQL is down or hangs: a poll blocks the replication task (never the events)
                .withProperty("connectTimeout", "5")
                .withProperty("socketTimeout", String.valueOf(QUERY_TIMEOUT_SECONDS + 5))
                .withProperty("currentSchema", options.schema())
                .withProperty("ApplicationName", "csr-cohort-replication");
        if (options.password() != null && !options.password().isEmpty()) {
            b.withPassword(options.password());
        }
        this.connections = new SimpleJdbcConnectionProvider(b.build());
    }

    @Override
    public CohortPoll poll(long watermarkMicros) throws SQLException {
        try {
            Connection c = connection();
            checkVisibility(c);
            long serverNow;
            OptionalLong oldestOpen;
            try (Statement st = c.createStatement()) {
                st.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
                try (ResultSet rs = st.executeQuery(HORIZON_SQL)) {
                    rs.next();
                    serverNow = micros(rs.getObject("server_now", OffsetDateTime.class));
                    OffsetDateTime oldest = rs.getObject("oldest_open", OffsetDateTime.class);
                    oldestOpen = oldest == null ? OptionalLong.empty() : OptionalLong.of(micros(oldest));
                }
            }
            List<CohortRecord> cohorts = changedSince(c, COHORTS_SQL, watermarkMicros, CohortChangeReader::cohort);
            List<MembershipRecord> memberships = changedSince(c, MEMBERSHIPS_SQL, watermarkMicros, CohortChangeReader::membership);
            long next = ReplicationWatermark.advance(watermarkMicros, oldestOpen, serverNow, options.safetyLagMs() * 1_000);
            return new CohortPoll(cohorts, memberships, next);
        } catch (SQLException | RuntimeException e) {
            connections.closeConnection();
            throw e;
        }
    }

    /**
     * Without superuser or pg_read_all_stats, pg_stat_activity hides other users' xact_start, and only the safety lag
     * protects a long transaction of another user: said once, loudly, with the fix.
     */
    private void checkVisibility(Connection c) throws SQLException {
        if (visibilityChecked) {
            return;
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(CAN_SEE_ALL_SQL)) {
            if (!(rs.next() && rs.getBoolean(1))) {
                LOG.warn("cohort replication: PostgreSQL user '{}' at {} cannot see other sessions' transactions in "
                        + "pg_stat_activity, so a change committed by another user's transaction older than "
                        + "COHORT_REPLICATION_SAFETY_LAG_MS={} could be missed; GRANT pg_read_all_stats TO {}",
                        options.user(), options.url(), options.safetyLagMs(), options.user());
            }
        }
        visibilityChecked = true;
    }

    /** One row of a change query, read as its record. */
    private interface RowReader<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** The rows {@code sql} selects as changed since the watermark (its one parameter), each read by {@code row}. */
    private static <T> List<T> changedSince(Connection c, String sql, long watermarkMicros, RowReader<T> row) throws SQLException {
        List<T> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
            ps.setObject(1, timestamp(watermarkMicros));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row.read(rs));
                }
            }
        }
        return out;
    }

    private static CohortRecord cohort(ResultSet rs) throws SQLException {
        return new CohortRecord(rs.getLong("id"), rs.getString("company_id"), rs.getString("name"),
                rs.getString("description"), micros(rs.getObject("created_at", OffsetDateTime.class)),
                micros(rs.getObject("updated_at", OffsetDateTime.class)), rs.getBoolean("deleted"));
    }

    private static MembershipRecord membership(ResultSet rs) throws SQLException {
        OffsetDateTime left = rs.getObject("left_at", OffsetDateTime.class);
        return new MembershipRecord(rs.getLong("cohort_id"), rs.getString("company_id"), rs.getString("user_id"),
                micros(rs.getObject("joined_at", OffsetDateTime.class)), left == null ? null : micros(left),
                micros(rs.getObject("version_at", OffsetDateTime.class)));
    }

    private Connection connection() throws SQLException {
        try {
            return connections.getOrEstablishConnection();
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the PostgreSQL JDBC driver org.postgresql.Driver is not on the job's classpath", e);
        }
    }

    static long micros(OffsetDateTime t) {
        Instant i = t.toInstant();
        return Math.addExact(Math.multiplyExact(i.getEpochSecond(), 1_000_000L), i.getNano() / 1_000);
    }

    static OffsetDateTime timestamp(long epochMicros) {
        return Instant.EPOCH.plus(epochMicros, ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    }

    @Override
    public void close() {
        connections.closeConnection();
    }

    public CohortReplicationOptions options() {
        return options;
    }
}
