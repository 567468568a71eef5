package io.csr.gateway.analytics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one company's rows of the four analytics views (sql/postgres/005) as the API's JSON shapes. Each answer is
 * read in one repeatable-read transaction, so its {@code refreshedAt} is the refresh its rows came from even while a
 * concurrent refresh commits.
 */
public final class AnalyticsReader {
    private final DataSource postgres;

    public AnalyticsReader(DataSource postgres) {
        this.postgres = postgres;
    }

    public Map<String, Object> company(String companyId) throws SQLException {
        return inSnapshot(companyId, (c, body) -> {
            try (PreparedStatement st = c.prepareStatement("SELECT participants, participants_ever, active_participants_7d, active_participants_30d, "
                    + "events_7d, events_30d, cohorts, cohort_members, metrics::text, journey_flags::text FROM company_dashboard_mv WHERE company_id = ?")) {
                st.setString(1, companyId);
                try (ResultSet rs = st.executeQuery()) {
                    boolean found = rs.next();
                    body.put("participants", found ? rs.getLong(1) : 0);
                    body.put("participantsEver", found ? rs.getLong(2) : 0);
                    body.put("activeParticipants7d", found ? rs.getLong(3) : 0);
                    body.put("activeParticipants30d", found ? rs.getLong(4) : 0);
                    body.put("events7d", found ? rs.getLong(5) : 0);
                    body.put("events30d", found ? rs.getLong(6) : 0);
                    body.put("cohorts", found ? rs.getLong(7) : 0);
                    body.put("cohortMembers", found ? rs.getLong(8) : 0);
                    body.put("metrics", json(found ? rs.getString(9) : "[]"));
                    body.put("journeyFlags", json(found ? rs.getString(10) : "[]"));
                }
            }
        });
    }

    public Map<String, Object> programmes(String companyId) throws SQLException {
        return inSnapshot(companyId, (c, body) -> body.put("programmes", groups(c, "program_performance_mv", "programme", "programme", companyId)));
    }

    public Map<String, Object> languageGroups(String companyId) throws SQLException {
        return inSnapshot(companyId, (c, body) ->
                body.put("languageGroups", groups(c, "language_group_performance_mv", "language_group", "languageGroup", companyId)));
    }

    public Map<String, Object> journeyStages(String companyId) throws SQLException {
        return inSnapshot(companyId, (c, body) -> {
            try (PreparedStatement st = c.prepareStatement("SELECT participants FROM company_dashboard_mv WHERE company_id = ?")) {
                st.setString(1, companyId);
                try (ResultSet rs = st.executeQuery()) {
                    body.put("participants", rs.next() ? rs.getLong(1) : 0);
                }
            }
            List<Map<String, Object>> stages = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("SELECT flag, users_flagged, users_cleared, last_event_at "
                    + "FROM journey_stage_distribution_mv WHERE company_id = ? ORDER BY flag")) {
                st.setString(1, companyId);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> s = new LinkedHashMap<>();
                        s.put("flag", rs.getString(1));
                        s.put("usersFlagged", rs.getLong(2));
                        s.put("usersCleared", rs.getLong(3));
                        s.put("lastEventAt", AnalyticsRefreshStatus.iso(rs.getTimestamp(4)));
                        stages.add(s);
                    }
                }
            }
            body.put("stages", stages);
        });
    }

    /** The table and key column are this class's constants, never request input. */
    private static List<Map<String, Object>> groups(Connection c, String view, String keyColumn, String keyField, String companyId) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT " + keyColumn + ", participants, active, completed, dropped_out, "
                + "completion_rate, dropout_rate, metrics::text FROM " + view + " WHERE company_id = ? ORDER BY " + keyColumn)) {
            st.setString(1, companyId);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> g = new LinkedHashMap<>();
                    g.put(keyField, rs.getString(1));
                    g.put("participants", rs.getLong(2));
                    g.put("active", rs.getLong(3));
                    g.put("completed", rs.getLong(4));
                    g.put("droppedOut", rs.getLong(5));
                    g.put("completionRate", rs.getBigDecimal(6));
                    g.put("dropoutRate", rs.getBigDecimal(7));
                    g.put("metrics", json(rs.getString(8)));
                    out.add(g);
                }
            }
        }
        return out;
    }

    private interface Fill {
        void into(Connection c, Map<String, Object> body) throws SQLException;
    }

    private Map<String, Object> inSnapshot(String companyId, Fill fill) throws SQLException {
        try (Connection c = postgres.getConnection()) {
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            c.setAutoCommit(false);
            try {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("companyId", companyId);
                body.put("refreshedAt", AnalyticsRefreshStatus.lastSuccessfulRefresh(c).map(Object::toString).orElse(null));
                fill.into(c, body);
                c.commit();
                return body;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static JsonNode json(String text) throws SQLException {
        try {
            return Json.mapper().readTree(text);
        } catch (JsonProcessingException e) {
            throw new SQLException("a view returned JSON that does not parse: " + e.getMessage(), e);
        }
    }
}
