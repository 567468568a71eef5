package io.csr.ops;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;

/**
 * The demo companies' participants for {@code csr sample}: the users the generator emits ({@code u1…u200}), each in a
 * programme (language learning with a language group, or mentoring), enrolled in the last months, some of them gone
 * with an outcome. The same company always gets the same people (seeded by its name); a participant that already
 * exists is left alone, so an admin's edits survive the next demo.
 */
final class DemoParticipants {
    static final int USERS = SampleCommand.USERS;
    static final List<String> LANGUAGE_GROUPS = List.of("de", "fr", "es", "uk", "ar");

    private DemoParticipants() {
    }

    /** Inserts the missing demo participants of these companies; returns how many were new. */
    static int fill(PostgresSettings pg, List<String> companies) throws SQLException {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        int added = 0;
        try (Connection c = pg.connect(); PreparedStatement st = c.prepareStatement("INSERT INTO participants "
                + "(company_id, user_id, programme, language_group, enrolled_on, left_on, outcome) VALUES (?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (company_id, user_id) DO NOTHING")) {
            for (String company : companies) {
                Random r = new Random(company.hashCode());
                for (int u = 1; u <= USERS; u++) {
                    boolean language = r.nextInt(100) < 65;
                    LocalDate enrolled = today.minusDays(14 + r.nextInt(180));
                    int fate = r.nextInt(100);
                    LocalDate left = fate < 15 ? enrolled.plusDays(7 + r.nextInt(60)) : null;
                    if (left != null && left.isAfter(today)) {
                        left = today;
                    }
                    st.setString(1, company);
                    st.setString(2, "u" + u);
                    st.setString(3, language ? "language" : "mentoring");
                    st.setString(4, language ? LANGUAGE_GROUPS.get(r.nextInt(LANGUAGE_GROUPS.size())) : null);
                    st.setDate(5, Date.valueOf(enrolled));
                    st.setDate(6, left == null ? null : Date.valueOf(left));
                    st.setString(7, left == null ? null : fate < 9 ? "completed" : "dropped_out");
                    st.addBatch();
                }
            }
            for (int n : st.executeBatch()) {
                added += Math.max(n, 0);
            }
        }
        return added;
    }
}
