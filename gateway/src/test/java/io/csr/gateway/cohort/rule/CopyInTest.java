package io.csr.gateway.cohort.rule;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CopyInTest {
    private static String escaped(String v) {
        StringBuilder out = new StringBuilder();
        CopyIn.escape(v, out);
        return out.toString();
    }

    @Test
    void copyTextEscapesBackslashAndTheRowAndColumnSeparatorsOnly() {
        assertThat(escaped("u1")).isEqualTo("u1");
        assertThat(escaped("a\\N")).as("a literal \\N is not NULL").isEqualTo("a\\\\N");
        assertThat(escaped("a\tb\nc\rd")).isEqualTo("a\\tb\\nc\\rd");
        assertThat(escaped("s'2\",ü😀")).isEqualTo("s'2\",ü😀");
    }
}
