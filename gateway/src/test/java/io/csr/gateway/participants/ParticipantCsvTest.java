package io.csr.gateway.participants;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.Reader;
import java.time.LocalDate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParticipantCsvTest {
    @Test
    void columnsInAnyOrderQuotedFieldsAndCrlf() {
        ParticipantCsv.Parsed p = ParticipantCsv.parse("\uFEFFenrolledOn,userId,programme,languageGroup\r\n"
                + "2026-01-05,u1,\"Language, German\",de\r\n"
                + "2026-02-01,\"u\"\"2\",mentoring,\r\n\r\n");
        assertThat(p.errors()).isEmpty();
        assertThat(p.rows()).isEqualTo(2);
        assertThat(p.participants()).containsExactly(
                new Participant("u1", "Language, German", "de", LocalDate.of(2026, 1, 5), null, null),
                new Participant("u\"2", "mentoring", null, LocalDate.of(2026, 2, 1), null, null));
    }

    @Test
    void everyBadRowIsReportedWithItsLineAndFieldAndTheGoodOnesKept() {
        ParticipantCsv.Parsed p = ParticipantCsv.parse("userId,programme,languageGroup,enrolledOn,leftOn,outcome\n"
                + "u1,language,de,2026-01-05,,\n"               // line 2 ok
                + "u2,language,de,05/01/2026,,\n"              // line 3 bad date
                + "u3,,de,2026-01-05,,\n"                      // line 4 no programme
                + "u4,language,de,2026-01-05,2026-03-01,\n"    // line 5 left without outcome
                + "u5,language,de,2026-01-05,2026-03-01,won\n" // line 6 bad outcome
                + "u6,language,de,2026-01-05,2025-12-01,completed\n" // line 7 left before enrolled
                + "u1,mentoring,,2026-01-05,,\n"               // line 8 duplicate
                + "u7,language\n"                              // line 9 short
                + "u8,language,fr,2026-01-05,2026-04-01,dropped_out\n"); // line 10 ok
        assertThat(p.participants()).extracting(Participant::userId).containsExactly("u1", "u8");
        assertThat(p.errors()).extracting(ParticipantCsv.RowError::line).containsExactly(3, 4, 5, 6, 7, 8, 9);
        assertThat(p.errors()).extracting(ParticipantCsv.RowError::field)
                .containsExactly("enrolledOn", "programme", "outcome", "outcome", "leftOn", "userId", null);
        assertThat(p.errors().get(0).message()).contains("05/01/2026").contains("YYYY-MM-DD");
        assertThat(p.errors().get(5).message()).contains("line 2");
    }

    @Test
    void aMultiLineQuotedFieldKeepsLineNumbersRight() {
        ParticipantCsv.Parsed p = ParticipantCsv.parse("userId,programme,enrolledOn\nu1,\"two\nlines\",2026-01-01\nu2,x,bad\n");
        // the line break inside the programme is refused (control character); the next record starts on line 4
        assertThat(p.errors()).extracting(ParticipantCsv.RowError::line).containsExactly(2, 4);
        assertThat(p.errors()).extracting(ParticipantCsv.RowError::field).containsExactly("programme", "enrolledOn");
    }

    @Test
    void aBadHeaderIsRejectedNamingTheColumn() {
        assertThatThrownBy(() -> ParticipantCsv.parse("userId,programme\n")).hasMessageContaining("enrolledOn");
        assertThatThrownBy(() -> ParticipantCsv.parse("userId,programme,enrolledOn,team\n")).hasMessageContaining("'team'");
        assertThatThrownBy(() -> ParticipantCsv.parse("")).hasMessageContaining("header");
        assertThatThrownBy(() -> ParticipantCsv.parse("userId,programme,enrolledOn\nu1,\"open,2026-01-01\n"))
                .hasMessageContaining("line 2");
    }

    @Test
    void datesOutsideWhatTheStoresHoldAreThatRowsError() {
        ParticipantCsv.Parsed p = ParticipantCsv.parse("userId,programme,enrolledOn\nu1,x,2026-01-01\nu2,x,+5874898-01-01\n"
                + "u3,x,-0001-01-01\nu4,x,9999-12-31\nu5,x,2026-01-02\n");
        assertThat(p.participants()).extracting(Participant::userId).containsExactly("u1", "u5");
        assertThat(p.errors()).extracting(ParticipantCsv.RowError::line).containsExactly(3, 4, 5);
        assertThat(p.errors()).allSatisfy(e -> assertThat(e.field()).isEqualTo("enrolledOn"));
        assertThat(p.errors().get(2).message()).contains("1970-01-01 to 2105-12-31");
    }

    @Test
    void readingStopsAtTheRowAfterTheLimitWithoutReadingTheRest() throws IOException {
        // 100,001 rows, then a million more the parser must never read
        CountingReader in = new CountingReader("userId,programme,enrolledOn\n", ParticipantCsv.MAX_ROWS + 1_000_000);
        assertThatThrownBy(() -> ParticipantCsv.parse(in)).isInstanceOf(ParticipantCsv.Refused.class)
                .hasMessageContaining("more than 100000 rows").hasMessageContaining("row 100001");
        assertThat(in.rowsHandedOut).as("rows read before stopping").isLessThan(ParticipantCsv.MAX_ROWS + 10_000);
    }

    @Test
    void aLineLongerThanTheLimitStopsReadingThere() {
        String longLine = "u1,\"" + "x".repeat(ParticipantCsv.MAX_LINE_CHARS * 4) + "\",2026-01-01\n";
        assertThatThrownBy(() -> ParticipantCsv.parse("userId,programme,enrolledOn\n" + longLine))
                .hasCauseInstanceOf(ParticipantCsv.LineLimit.TooLong.class).hasMessageContaining("line 2");
    }

    /** A CSV body of n generated rows, counting how many the parser pulled. */
    private static final class CountingReader extends Reader {
        private final String header;
        private final int rows;
        private int rowsHandedOut;
        private String pending;

        CountingReader(String header, int rows) {
            this.header = header;
            this.rows = rows;
            this.pending = header;
        }

        @Override
        public int read(char[] buf, int off, int len) {
            if (pending.isEmpty()) {
                if (rowsHandedOut == rows) {
                    return -1;
                }
                rowsHandedOut++;
                pending = "u" + rowsHandedOut + ",p,2026-01-01\n";
            }
            int n = Math.min(len, pending.length());
            pending.getChars(0, n, buf, off);
            pending = pending.substring(n);
            return n;
        }

        @Override
        public void close() {
        }
    }
}
