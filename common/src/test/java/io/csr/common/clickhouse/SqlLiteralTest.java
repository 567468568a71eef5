package io.csr.common.clickhouse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;
import java.time.LocalDate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqlLiteralTest {

    @Test
    void escapesQuotesAndBackslashes() {
        assertThat(SqlLiteral.string("it's")).isEqualTo("'it\\'s'");
        assertThat(SqlLiteral.string("a\\b")).isEqualTo("'a\\\\b'");
        assertThat(SqlLiteral.string("\\'")).isEqualTo("'\\\\\\''");
        assertThat(SqlLiteral.string("x' OR 1=1 --")).isEqualTo("'x\\' OR 1=1 --'");
    }

    @Test
    void escapesControlCharactersAndNul() {
        assertThat(SqlLiteral.string("a\nb\rc\td")).isEqualTo("'a\\nb\\rc\\td'");
        assertThat(SqlLiteral.string("nul\0end")).isEqualTo("'nul\\0end'");
        assertThat(SqlLiteral.string("\u0001\u001f\u007f")).isEqualTo("'\\x01\\x1F\\x7F'");
        assertThat(SqlLiteral.string("\b\f")).isEqualTo("'\\b\\f'");
    }

    @Test
    void keepsUnicodeAsIs() {
        assertThat(SqlLiteral.string("Zürich – 東京 😀")).isEqualTo("'Zürich – 東京 😀'");
    }

    @Test
    void renderedLiteralNeverContainsAnUnescapedQuote() {
        String hostile = "';DROP TABLE events;--\\'\n\0\"`";
        String lit = SqlLiteral.string(hostile);
        String inner = lit.substring(1, lit.length() - 1);
        for (int i = 0; i < inner.length(); i++) {
            if (inner.charAt(i) == '\\') {
                i++; // skip the escaped character
            } else {
                assertThat(inner.charAt(i)).as("unescaped character at %d of %s", i, lit).isNotIn('\'', '\n', '\0');
            }
        }
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> SqlLiteral.string(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"events", "csr_it_ab12", "_x", "T1"})
    void acceptsPlainIdentifiers(String name) {
        assertThat(SqlLiteral.identifier(name)).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1abc", "a-b", "a b", "a;drop", "events`", "x'y", "ä"})
    void rejectsOtherIdentifiers(String name) {
        assertThatThrownBy(() -> SqlLiteral.identifier(name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name.isEmpty() ? "''" : name);
    }

    @Test
    void numbersMustBeFinite() {
        assertThat(SqlLiteral.number(42L)).isEqualTo("42");
        assertThat(SqlLiteral.number(-1.5)).isEqualTo("-1.5");
        assertThatThrownBy(() -> SqlLiteral.number(Double.NaN)).hasMessageContaining("NaN");
        assertThatThrownBy(() -> SqlLiteral.number(Double.POSITIVE_INFINITY)).hasMessageContaining("Infinity");
    }

    @Test
    void datesAndTimesAreUtc() {
        assertThat(SqlLiteral.date(LocalDate.of(2026, 11, 27))).isEqualTo("toDate('2026-11-27')");
        assertThat(SqlLiteral.dateTime(Instant.parse("2026-11-27T10:15:30.999Z")))
                .isEqualTo("toDateTime('2026-11-27 10:15:30', 'UTC')");
    }

    @Test
    void lists() {
        assertThat(SqlLiteral.stringList(List.of("a", "b'c"))).isEqualTo("('a', 'b\\'c')");
        assertThat(SqlLiteral.numberList(List.of(1, 2L))).isEqualTo("(1, 2)");
        assertThatThrownBy(() -> SqlLiteral.stringList(List.of())).hasMessageContaining("at least one");
    }
}
