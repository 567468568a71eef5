package io.csr.gateway.participants;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** PostgreSQL {@code participants} of one company: upsert one, upsert many in one transaction, list. */
public final class ParticipantStore {
    private static final String UPSERT = "INSERT INTO participants AS p (company_id, user_id, programme, language_group, enrolled_on, left_on, outcome) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (company_id, user_id) DO UPDATE SET programme = EXCLUDED.programme, "
            + "language_group = EXCLUDED.language_group, enrolled_on = EXCLUDED.enrolled_on, left_on = EXCLUDED.left_on, "
            + "outcome = EXCLUDED.outcome, updated_at = now() "
            + "RETURNING p.company_id, p.user_id, p.programme, p.language_group, p.enrolled_on, p.left_on, p.outcome, p.updated_at";
    private static final String COLUMNS = "company_id, user_id, programme, language_group, enrolled_on, left_on, outcome, updated_at";

    private final PostgresSettings postgres;

    public ParticipantStore(PostgresSettings postgres) {
        this.postgres = postgres;
    }

    public Map<String, Object> upsert(String companyId, Participant p) throws SQLException {
        try (Connection c = postgres.connect(); PreparedStatement st = c.prepareStatement(UPSERT)) {
            bind(st, companyId, p);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return row(rs);
            }
        }
    }

    /** All or nothing: the participants are written in one transaction. */
    public int upsertAll(String companyId, List<Participant> participants) throws SQLException {
        try (Connection c = postgres.connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement st = c.prepareStatement(UPSERT.substring(0, UPSERT.indexOf(" RETURNING")))) {
                int pending = 0;
                for (Participant p : participants) {
                    bind(st, companyId, p);
                    st.addBatch();
                    if (++pending == 1_000) {
                        st.executeBatch();
                        pending = 0;
                    }
                }
                st.executeBatch();
                c.commit();
                return participants.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** A page in user order, filtered by programme / language group when given; {@code total} counts every match. */
    public Map<String, Object> list(String companyId, String programme, String languageGroup, int limit, int offset) throws SQLException {
        String where = " WHERE company_id = ? AND (?::text IS NULL OR programme = ?) AND (?::text IS NULL OR language_group = ?)";
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("companyId", companyId);
        try (Connection c = postgres.connect()) {
            try (PreparedStatement st = c.prepareStatement("SELECT count(*) FROM participants" + where)) {
                filter(st, companyId, programme, languageGroup);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    body.put("total", rs.getLong(1));
                }
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("SELECT " + COLUMNS + " FROM participants" + where + " ORDER BY user_id LIMIT ? OFFSET ?")) {
                filter(st, companyId, programme, languageGroup);
                st.setInt(6, limit);
                st.setInt(7, offset);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        rows.add(row(rs));
                    }
                }
            }
            body.put("participants", rows);
        }
        return body;
    }

    private static void filter(PreparedStatement st, String companyId, String programme, String languageGroup) throws SQLException {
        st.setString(1, companyId);
        st.setString(2, programme);
        st.setString(3, programme);
        st.setString(4, languageGroup);
        st.setString(5, languageGroup);
    }

    private static void bind(PreparedStatement st, String companyId, Participant p) throws SQLException {
        st.setString(1, companyId);
        st.setString(2, p.userId());
        st.setString(3, p.programme());
        st.setString(4, p.languageGroup());
        st.setDate(5, sqlDate(p.enrolledOn()));
        st.setDate(6, sqlDate(p.leftOn()));
        st.setString(7, p.outcome());
    }

    private static Date sqlDate(LocalDate d) {
        return d == null ? null : Date.valueOf(d);
    }

    private static Map<String, Object> row(ResultSet rs) throws SQLException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("companyId", rs.getString(1));
        m.put("userId", rs.getString(2));
        m.put("programme", rs.getString(3));
        m.put("languageGroup", rs.getString(4));
        m.put("enrolledOn", rs.getString(5));
        m.put("leftOn", rs.getString(6));
        m.put("outcome", rs.getString(7));
        m.put("updatedAt", rs.getTimestamp(8).toInstant().toString());
        return m;
    }
}
