package io.csr.gateway.analytics;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/** Writes event_log rows, participants and cohorts into a test's own PostgreSQL schema, relative to one {@code now}. */
final class AnalyticsSeed {
    final PostgresSettings pg;
    final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    final LocalDate today = LocalDate.now(ZoneOffset.UTC);

    AnalyticsSeed(PostgresSettings pg) {
        this.pg = pg;
    }

    Instant daysAgo(double days) {
        return now.minus(Duration.ofMillis((long) (days * 86_400_000L)));
    }

    /** One event as its producer recorded it; {@code payload} is the raw text (possibly not JSON). */
    void event(String subject, String companyId, Instant occurredAt, String payload) throws SQLException {
        try (Connection c = pg.connect(); PreparedStatement st = c.prepareStatement(
                "INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload) VALUES (?, ?, ?, ?, ?)")) {
            st.setString(1, UUID.randomUUID().toString());
            st.setString(2, subject);
            st.setString(3, companyId);
            st.setTimestamp(4, Timestamp.from(occurredAt));
            st.setString(5, payload);
            st.executeUpdate();
        }
    }

    void metric(String companyId, String metric, String userId, double value, Instant at) throws SQLException {
        event("metrics." + metric, companyId, at, "{\"eventId\":\"x\",\"companyId\":\"" + companyId + "\","
                + (userId == null ? "" : "\"userId\":\"" + userId + "\",") + "\"occurredAt\":\"" + at + "\",\"value\":" + value + "}");
    }

    void q2q(String companyId, String dimension, String userId, double score, Instant at) throws SQLException {
        event("q2q." + dimension, companyId, at, "{\"companyId\":\"" + companyId + "\",\"userId\":\"" + userId + "\",\"occurredAt\":\""
                + at + "\",\"score\":" + score + "}");
    }

    void journey(String companyId, String flag, String userId, boolean value, Instant at) throws SQLException {
        event("journey." + flag, companyId, at, "{\"companyId\":\"" + companyId + "\",\"userId\":\"" + userId + "\",\"occurredAt\":\""
                + at + "\",\"value\":" + value + "}");
    }

    void participant(String companyId, String userId, String programme, String languageGroup, int enrolledDaysAgo,
                     Integer leftDaysAgo, String outcome) throws SQLException {
        try (Connection c = pg.connect(); PreparedStatement st = c.prepareStatement("INSERT INTO participants "
                + "(company_id, user_id, programme, language_group, enrolled_on, left_on, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            st.setString(1, companyId);
            st.setString(2, userId);
            st.setString(3, programme);
            st.setString(4, languageGroup);
            st.setDate(5, Date.valueOf(today.minusDays(enrolledDaysAgo)));
            st.setDate(6, leftDaysAgo == null ? null : Date.valueOf(today.minusDays(leftDaysAgo)));
            st.setString(7, outcome);
            st.executeUpdate();
        }
    }

    /** A cohort with open memberships of {@code members} (and a closed one of {@code former}); deleted when asked. */
    void cohort(String companyId, String name, boolean deleted, String[] members, String[] former) throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            long id;
            try (var rs = st.executeQuery("INSERT INTO cohorts (company_id, name, deleted_at) VALUES ('" + companyId + "', '" + name + "', "
                    + (deleted ? "now()" : "NULL") + ") RETURNING id")) {
                rs.next();
                id = rs.getLong(1);
            }
            for (String u : members) {
                st.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id) VALUES (" + id + ", '" + companyId + "', '" + u + "')");
            }
            for (String u : former) {
                st.execute("INSERT INTO user_cohorts (cohort_id, company_id, user_id, joined_at, left_at) VALUES (" + id + ", '"
                        + companyId + "', '" + u + "', now() - interval '2 days', now() - interval '1 day')");
            }
        }
    }

    void sql(String statement) throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute(statement);
        }
    }
}
