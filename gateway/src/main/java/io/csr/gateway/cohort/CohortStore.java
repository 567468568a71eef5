package io.csr.gateway.cohort;

import javax.sql.DataSource;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Cohorts and memberships in PostgreSQL, the source of truth the job replicates to ClickHouse. Membership history is
 * kept: a removal closes the open stint ({@code left_at}), a re-add opens a new one. Every write of a cohort's members
 * locks the cohort row first, so concurrent changes (and {@code cohort_bulk_load}) of one cohort run one after the
 * other; every write sets {@code updated_at} (clock time, not transaction start) for the incremental replication.
 */
final class CohortStore {
    private final DataSource postgres;

    CohortStore(DataSource postgres) {
        this.postgres = postgres;
    }

    /** {@code rule} is the stored rule's JSON text, null for a static cohort. */
    record StoredCohort(long id, String companyId, String name, String description, Instant createdAt, long members, String rule) {
        boolean isRule() {
            return rule != null;
        }
    }

    record MemberChange(long added, long removed, long members) {
    }

    /** Thrown when a live cohort of the company already has the name. */
    static final class NameTaken extends Exception {
        NameTaken(String message) {
            super(message);
        }
    }

    /** A new cohort; {@code rule} (validated JSON text) makes it a rule cohort, null a static one. */
    StoredCohort create(String companyId, String name, String description, String rule) throws SQLException, NameTaken {
        return naming(companyId, name, "INSERT INTO cohorts (company_id, name, description, rule, created_at, updated_at)"
                + " VALUES (?, ?, ?, ?::jsonb, clock_timestamp(), clock_timestamp()) RETURNING id, created_at, rule::text", ps -> {
            ps.setString(1, companyId);
            ps.setString(2, name);
            ps.setString(3, description);
            ps.setString(4, rule);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new StoredCohort(rs.getLong(1), companyId, name, description, rs.getTimestamp(2).toInstant(), 0, rs.getString(3));
            }
        });
    }

    /**
     * Changes name, description and kind of a live cohort (null name/description: unchanged; {@code changeRule} with a
     * null rule makes it static, its current members kept). False when the cohort is gone.
     */
    boolean update(String companyId, long id, String name, String description, boolean changeRule, String rule) throws SQLException, NameTaken {
        return naming(companyId, name, "UPDATE cohorts SET name = coalesce(?, name), description = coalesce(?, description),"
                + " rule = CASE WHEN ? THEN ?::jsonb ELSE rule END, updated_at = clock_timestamp() WHERE id = ? AND deleted_at IS NULL", ps -> {
            ps.setString(1, name);
            ps.setString(2, description);
            ps.setBoolean(3, changeRule);
            ps.setString(4, rule);
            ps.setLong(5, id);
            return ps.executeUpdate() == 1;
        });
    }

    /** A statement's work, given the prepared statement. */
    private interface StatementWork<T> {
        T run(PreparedStatement ps) throws SQLException;
    }

    /**
     * Runs {@code sql} that writes a cohort's {@code name} on a connection of its own: a unique violation is that name
     * taken by a live cohort of the company ({@link NameTaken}), any other failure stays what it is.
     */
    private <T> T naming(String companyId, String name, String sql, StatementWork<T> work) throws SQLException, NameTaken {
        try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            return work.run(ps);
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
                throw new NameTaken("company " + companyId + " already has a cohort named '" + CohortParams.shown(name)
                        + "'; choose another name or delete that cohort first");
            }
            throw e;
        }
    }

    /** A live cohort of one of the companies, with its current member count. */
    Optional<StoredCohort> find(long id, Collection<String> companies) throws SQLException {
        List<StoredCohort> found = select("c.id = ? AND c.company_id = ANY (?)", id, companies);
        return found.stream().findFirst();
    }

    List<StoredCohort> list(Collection<String> companies) throws SQLException {
        return select("c.company_id = ANY (?)", null, companies);
    }

    private List<StoredCohort> select(String where, Long id, Collection<String> companies) throws SQLException {
        String sql = "SELECT c.id, c.company_id, c.name, c.description, c.created_at,"
                + " (SELECT count(*) FROM user_cohorts uc WHERE uc.cohort_id = c.id AND uc.left_at IS NULL) AS members, c.rule::text"
                + " FROM cohorts c WHERE c.deleted_at IS NULL AND " + where + " ORDER BY c.company_id, c.id";
        List<StoredCohort> out = new ArrayList<>();
        try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            if (id != null) {
                ps.setLong(i++, id);
            }
            ps.setArray(i, c.createArrayOf("text", companies.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredCohort(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getTimestamp(5).toInstant(), rs.getLong(6), rs.getString(7)));
                }
            }
        }
        return out;
    }

    /** Adds and removes members in one transaction; empty when the cohort is gone (deleted meanwhile). */
    Optional<MemberChange> changeMembers(long cohortId, Collection<String> add, Collection<String> remove) throws SQLException {
        try (Connection c = postgres.getConnection()) {
            c.setAutoCommit(false);
            try {
                String companyId;
                try (PreparedStatement lock = c.prepareStatement("SELECT company_id FROM cohorts WHERE id = ? AND deleted_at IS NULL FOR UPDATE")) {
                    lock.setLong(1, cohortId);
                    try (ResultSet rs = lock.executeQuery()) {
                        if (!rs.next()) {
                            c.rollback();
                            return Optional.empty();
                        }
                        companyId = rs.getString(1);
                    }
                }
                long removed = 0;
                if (!remove.isEmpty()) {
                    try (PreparedStatement ps = c.prepareStatement("UPDATE user_cohorts SET left_at = clock_timestamp(), updated_at = clock_timestamp()"
                            + " WHERE cohort_id = ? AND left_at IS NULL AND user_id = ANY (?)")) {
                        ps.setLong(1, cohortId);
                        ps.setArray(2, textArray(c, remove));
                        removed = ps.executeUpdate();
                    }
                }
                long added = 0;
                if (!add.isEmpty()) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO user_cohorts (cohort_id, company_id, user_id, joined_at, updated_at)"
                            + " SELECT ?, ?, u, clock_timestamp(), clock_timestamp() FROM unnest(?::text[]) AS u"
                            + " WHERE NOT EXISTS (SELECT 1 FROM user_cohorts uc WHERE uc.cohort_id = ? AND uc.user_id = u AND uc.left_at IS NULL)")) {
                        ps.setLong(1, cohortId);
                        ps.setString(2, companyId);
                        ps.setArray(3, textArray(c, add));
                        ps.setLong(4, cohortId);
                        added = ps.executeUpdate();
                    }
                }
                long members;
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM user_cohorts WHERE cohort_id = ? AND left_at IS NULL")) {
                    ps.setLong(1, cohortId);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        members = rs.getLong(1);
                    }
                }
                c.commit();
                return Optional.of(new MemberChange(added, removed, members));
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** Soft delete: the row stays (deleted_at set) for history and replication; false when already gone. */
    boolean softDelete(long cohortId) throws SQLException {
        try (Connection c = postgres.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE cohorts SET deleted_at = clock_timestamp(), updated_at = clock_timestamp()"
                     + " WHERE id = ? AND deleted_at IS NULL")) {
            ps.setLong(1, cohortId);
            return ps.executeUpdate() == 1;
        }
    }

    private static Array textArray(Connection c, Collection<String> values) throws SQLException {
        return c.createArrayOf("text", values.toArray());
    }
}
