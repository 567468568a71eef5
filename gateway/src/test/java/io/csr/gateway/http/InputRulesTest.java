package io.csr.gateway.http;

import org.junit.jupiter.api.Test;

import java.time.LocalDate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InputRulesTest {
    @Test
    void wellFormedTextPassesAndEveryBreakOfTheRuleIsNamed() {
        assertThat(InputRules.textProblem("user-1", 1, 128, false)).isNull();
        assertThat(InputRules.textProblem("Zoë 😀 日本", 1, 128, false)).isNull();
        assertThat(InputRules.textProblem("a\uD800", 1, 128, false)).contains("lone UTF-16 surrogate").contains("D800");
        assertThat(InputRules.textProblem("\uDC00a", 1, 128, false)).contains("lone UTF-16 surrogate");
        assertThat(InputRules.textProblem("a\u0000b", 1, 128, false)).contains("U+0000");
        assertThat(InputRules.textProblem("a\u0085b", 1, 128, false)).as("C1 control").contains("U+0085");
        assertThat(InputRules.textProblem("a\u007Fb", 1, 128, false)).contains("U+007F");
        assertThat(InputRules.textProblem("a\uFFFEb", 1, 128, false)).contains("noncharacter");
        assertThat(InputRules.textProblem("two\nlines", 0, 100, true)).isNull();
        assertThat(InputRules.textProblem("two\nlines", 0, 100, false)).contains("U+000A");
        assertThat(InputRules.textProblem("", 1, 128, false)).contains("1 to 128");
        // length in code points, as PostgreSQL's char_length: 128 emoji are 256 UTF-16 units but 128 characters
        assertThat(InputRules.textProblem("😀".repeat(128), 1, 128, false)).isNull();
        assertThat(InputRules.textProblem("😀".repeat(129), 1, 128, false)).contains("129 characters");
    }

    @Test
    void datesAreWhatBothStoresHold() {
        assertThat(InputRules.date("1970-01-01")).isEqualTo(LocalDate.of(1970, 1, 1));
        assertThat(InputRules.date("2105-12-31")).isEqualTo(LocalDate.of(2105, 12, 31));
        assertThatThrownBy(() -> InputRules.date("1969-12-31")).hasMessageContaining("1970-01-01 to 2105-12-31");
        assertThatThrownBy(() -> InputRules.date("2106-01-01")).hasMessageContaining("1970-01-01 to 2105-12-31");
        assertThatThrownBy(() -> InputRules.date("9999-12-31")).hasMessageContaining("outside");
        assertThatThrownBy(() -> InputRules.date("+5874898-01-01")).hasMessageContaining("not a date");
        assertThatThrownBy(() -> InputRules.date("-0001-01-01")).hasMessageContaining("not a date");
        assertThatThrownBy(() -> InputRules.date("2026-02-30")).hasMessageContaining("not a calendar date");
    }

    @Test
    void shownValuesAreCutAndEscaped() {
        assertThat(InputRules.shown("a\u0000b\uD800")).isEqualTo("a\\u0000b\\uD800");
        assertThat(InputRules.shown("x".repeat(100))).endsWith("…(100 chars)").hasSize(64 + "…(100 chars)".length());
    }

    @Test
    void pathsAndQueriesMustBePercentEncodedUtf8() {
        assertThat(RequestGuard.encodingProblem("path", "/participants/caf%C3%A9")).isNull();
        assertThat(RequestGuard.encodingProblem("path", "/participants/%FF")).contains("UTF-8");
        assertThat(RequestGuard.encodingProblem("path", "/participants/%ED%A0%80")).as("an encoded surrogate").contains("UTF-8");
        assertThat(RequestGuard.encodingProblem("query", "a=%C3")).contains("UTF-8");
        assertThat(RequestGuard.encodingProblem("query", "a=%G1")).contains("%25");
        assertThat(RequestGuard.encodingProblem("query", "languageGroup=%00")).as("NUL is UTF-8; the field rule refuses it").isNull();
    }
}
