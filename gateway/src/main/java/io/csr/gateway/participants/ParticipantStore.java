package io.csr.gateway.participants;

import io.csr.gateway.http.ApiError;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/** PostgreSQL {@code participants} of one company: upsert one, upsert many in one transaction, list. */
public final class ParticipantStore {
    private static final Logger LOG = Logger.getLogger(ParticipantStore.class.getName());
    private static final String UPSERT = "INSERT INTO participants AS p (company_id, user_id, programme, language_group, enrolled_on, left_on, outcome) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (company_id, user_id) DO UPDATE SET programme = EXCLUDED.programme, "
            + "language_group = EXCLUDED.language_group, enrolled_on = EXCLUDED.enrolled_on, left_on = EXCLUDED.left_on, "
            + "outcome = EXCLUDED.outcome, updated_at = now() "
            + "RETURNING p.company_id, p.user_id, p.programme, p.language_group, p.enrolled_on, p.left_on, p.outcome, p.updated_at";
    private static final String COLUMNS = "company_id, user_id, programme, language_group, enrolled_on, left_on, outcome, updated_at";

    private final DataSource postgres;

    public ParticipantStore(DataSource postgres) {
        this.postgres = postgres;
    }

    public Map<String, Object> upsert(String companyId, Participant p) throws SQLException {
        try (Connection c = postgres.getConnection(); PreparedStatement st = c.prepareStatement(UPSERT)) {
            bind(st, companyId, p);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return row(rs);
            }
        }
    }

    /** What {@link #upsertAll} wrote: how many rows, and the rows PostgreSQL refused (each with its line). */
    public record Written(int count, List<ParticipantCsv.RowError> refused) {
    }

    /**
     * Every row that PostgreSQL accepts is written, in one transaction: first as batches; when the database refuses one
     * row (a constraint the validation did not foresee), the transaction starts over one row at a time, each under a
     * savepoint, and a refused row becomes that row's error instead of failing the import. An outage fails it all.
     */
    public Written upsertAll(String companyId, List<ParticipantCsv.Row> rows) throws SQLException {
        String upsert = UPSERT.substring(0, UPSERT.indexOf(" RETURNING"));
        try (Connection c = postgres.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement st = c.prepareStatement(upsert)) {
                    int pending = 0;
                    for (ParticipantCsv.Row r : rows) {
                        bind(st, companyId, r.participant());
                        st.addBatch();
                        if (++pending == 1_000) {
                            st.executeBatch();
                            pending = 0;
                        }
                    }
                    st.executeBatch();
                    c.commit();
                    return new Written(rows.size(), List.of());
                } catch (SQLException e) {
                    if (ApiError.isOutage(e)) {
                        throw e;
                    }
                    c.rollback();
                }
                int written = 0;
                List<ParticipantCsv.RowError> refused = new ArrayList<>();
                try (PreparedStatement st = c.prepareStatement(upsert)) {
                    for (ParticipantCsv.Row r : rows) {
                        Savepoint sp = c.setSavepoint();
                        try {
                            bind(st, companyId, r.participant());
                            st.executeUpdate();
                            c.releaseSavepoint(sp);
                            written++;
                        } catch (SQLException e) {
                            if (ApiError.isOutage(e)) {
                                throw e;
                            }
                            c.rollback(sp);
                            LOG.log(Level.WARNING, "participants import of " + companyId + ": line " + r.line() + " refused by PostgreSQL", e);
                            refused.add(new ParticipantCsv.RowError(r.line(), r.participant().userId(), null,
                                    "PostgreSQL refused this row (SQLSTATE " + e.getSQLState() + "); the other rows were written"));
                        }
                    }
                }
                c.commit();
                return new Written(written, refused);
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
        try (Connection c = postgres.getConnection()) {
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

    /** ISO 8601 ({@code YYYY-MM-DD}) whatever the year, not PostgreSQL's text ({@code 0002-01-01 BC}). */
    private static String iso(LocalDate d) {
        return d == null ? null : d.toString();
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
        m.put("enrolledOn", iso(rs.getObject(5, LocalDate.class)));
        m.put("leftOn", iso(rs.getObject(6, LocalDate.class)));
        m.put("outcome", rs.getString(7));
        m.put("updatedAt", rs.getTimestamp(8).toInstant().toString());
        return m;
    }
}
