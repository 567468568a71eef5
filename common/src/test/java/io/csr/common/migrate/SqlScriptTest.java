package io.csr.common.migrate;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqlScriptTest {

    @Test
    void splitsOnSemicolonsOutsideQuotesAndComments() {
        String script = "-- a comment; with a semicolon\n"
                + "CREATE TABLE a (x String DEFAULT ';');\n"
                + "/* block; comment */ INSERT INTO a VALUES ('it\\'s; fine');\n"
                + "SELECT 'pg''s;quote';\n"
                + "  \n";
        assertThat(SqlScript.split(script)).containsExactly(
                "CREATE TABLE a (x String DEFAULT ';')",
                "INSERT INTO a VALUES ('it\\'s; fine')",
                "SELECT 'pg''s;quote'");
    }

    @Test
    void keepsDollarQuotedBodies() {
        assertThat(SqlScript.split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;"))
                .containsExactly("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql");
    }

    @Test
    void unterminatedQuoteIsAnError() {
        assertThatThrownBy(() -> SqlScript.split("SELECT 'oops;")).isInstanceOf(MigrationException.class);
    }
}
