package io.csr.common.clickhouse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqlLiteralTest {

    static Stream<Arguments> strings() {
        return Stream.of(
                Arguments.of("it's", "'it\\'s'"),
                Arguments.of("a\\b", "'a\\\\b'"),
                Arguments.of("\\'", "'\\\\\\''"),
                Arguments.of("x' OR 1=1 --", "'x\\' OR 1=1 --'"),
                Arguments.of("a\nb\rc\td", "'a\\nb\\rc\\td'"),
                Arguments.of("nul\0end", "'nul\\0end'"),
                Arguments.of("\u0001\u001f\u007f", "'\\x01\\x1F\\x7F'"),
                Arguments.of("\b\f", "'\\b\\f'"),
                Arguments.of("Zürich – 東京 😀", "'Zürich – 東京 😀'")); // Unicode as is
    }

    /** Quotes and backslashes escaped, control characters and NUL too, everything else as is. */
    @ParameterizedTest(name = "[{index}] {1}")
    @MethodSource("strings")
    void stringLiterals(String value, String literal) {
        assertThat(SqlLiteral.string(value)).isEqualTo(literal);
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
