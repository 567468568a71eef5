package io.csr.common.migrate;

import io.csr.common.TestNamespace;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.postgres.PostgresSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The migration runner against real ClickHouse and PostgreSQL, each test in its own database / schema. */
class MigrationRunnerITCase {
    ClickHouseAccess ch;
    PostgresSettings pg;
    final List<String> progress = new ArrayList<>();

    @BeforeEach
    void namespaces() {
        ch = ClickHouseAccess.open(ClickHouseSettings.from(TestNamespace.config()).withDatabase(TestNamespace.unique("csr_it_mig")));
        pg = PostgresSettings.from(TestNamespace.config()).withSchema(TestNamespace.unique("csr_it_mig"));
    }

    @AfterEach
    void dropNamespaces() throws Exception {
        ch.dropDatabase();
        ch.close();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + pg.schema() + " CASCADE");
        }
    }

    @Test
    void repositoryMigrationsApplyOnceThenAreANoOp() throws Exception {
        MigrationRunner chRunner = Migrations.clickHouse(ch, Migrations.sqlRoot(), progress::add);
        List<Migration> first = chRunner.migrate();
        assertThat(first).isNotEmpty();
        assertThat(tablesIn(ch)).contains("events", "metrics_timeseries", "metric_windows", "dead_letters",
                "cohorts", "user_cohorts", "schema_migrations")
                .as("005 drops the rollups that counted a replayed batch twice").doesNotContain("hourly_metrics", "hourly_metrics_mv",
                        "daily_event_counts", "daily_event_counts_mv");
        assertThat(chRunner.migrate()).isEmpty();
        assertThat(chRunner.status()).allSatisfy(s -> assertThat(s.state()).isEqualTo("applied"));
        assertThat(ch.queryLong("SELECT count() AS c FROM schema_migrations FINAL")).isEqualTo(first.size());

        MigrationRunner pgRunner = Migrations.postgres(pg, Migrations.sqlRoot(), progress::add);
        List<Migration> pgFirst = pgRunner.migrate();
        assertThat(pgFirst).isNotEmpty();
        assertThat(pgRunner.migrate()).isEmpty();
        try (Connection c = pg.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM information_schema.tables WHERE table_schema = '"
                     + pg.schema() + "' AND table_name IN ('cohorts','user_cohorts','feature_flags','event_log','schema_migrations',"
                     + "'cohort_audit_log','cohort_member_staging')")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(7);
        }
        assertThat(progress).anyMatch(l -> l.contains("applied 001_core_tables"));
    }

    @Test
    void clickHouseFreshApplyReapplyAndEditedFile(@TempDir Path sql) throws Exception {
        Path dir = Files.createDirectories(sql.resolve("clickhouse"));
        Files.writeString(dir.resolve("001_first.sql"), "CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
                + "INSERT INTO a VALUES (1);");
        Files.writeString(dir.resolve("002_second.sql"), "CREATE TABLE IF NOT EXISTS b (y String) ENGINE = MergeTree ORDER BY y;");
        MigrationRunner runner = Migrations.clickHouse(ch, sql, progress::add);

        assertThat(runner.migrate()).extracting(Migration::version).containsExactly(1, 2);
        assertThat(ch.queryLong("SELECT count() AS c FROM a")).isEqualTo(1);
        assertThat(runner.migrate()).isEmpty();
        assertThat(ch.queryLong("SELECT count() AS c FROM a")).as("re-apply ran nothing again").isEqualTo(1);

        Files.writeString(dir.resolve("001_first.sql"), "CREATE TABLE IF NOT EXISTS a (x UInt16) ENGINE = MergeTree ORDER BY x;");
        assertThatThrownBy(runner::migrate)
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("001_first.sql was edited after it was applied")
                .hasMessageContaining("new NNN file");
        assertThat(runner.status()).extracting(MigrationRunner.State::state).containsExactly("EDITED after apply", "applied");

        Files.writeString(dir.resolve("003_third.sql"), "SELECT 1");
        assertThatThrownBy(runner::migrate).as("nothing applies past an edited file").isInstanceOf(MigrationException.class);
        assertThat(runner.status()).extracting(MigrationRunner.State::state).contains("pending");
    }

    @Test
    void anAddColumnMigrationInterruptedBeforeItsLedgerRowCompletesWhenRunAgain(@TempDir Path sql) throws Exception {
        Path dir = Files.createDirectories(sql.resolve("clickhouse"));
        Files.writeString(dir.resolve("001_first.sql"), "CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree ORDER BY x;");
        MigrationRunner runner = Migrations.clickHouse(ch, sql, progress::add);
        assertThat(runner.migrate()).extracting(Migration::version).containsExactly(1);
        String alter = "ALTER TABLE a ADD COLUMN y Array(UInt8), ADD COLUMN z Float64";
        ch.execute(alter); // the ALTER ran, then the runner died before recording it
        Files.writeString(dir.resolve("002_columns.sql"), alter + ";");
        assertThat(runner.migrate()).extracting(Migration::version).containsExactly(2);
        assertThat(ch.queryLong("SELECT count() AS c FROM system.columns WHERE database = '" + ch.database() + "' AND table = 'a'"))
                .isEqualTo(3);

        Files.writeString(dir.resolve("003_more.sql"), "ALTER TABLE a ADD COLUMN w UInt8;");
        assertThat(runner.migrate()).as("a column not there yet is added").extracting(Migration::version).containsExactly(3);
        assertThat(ch.queryLong("SELECT count() AS c FROM system.columns WHERE database = '" + ch.database() + "' AND table = 'a'"))
                .isEqualTo(4);
    }

    @Test
    void postgresFreshApplyReapplyEditedFileAndFailedMigrationRollsBack(@TempDir Path sql) throws Exception {
        Path dir = Files.createDirectories(sql.resolve("postgres"));
        Files.writeString(dir.resolve("001_first.sql"), "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);");
        MigrationRunner runner = Migrations.postgres(pg, sql, progress::add);
        assertThat(runner.migrate()).hasSize(1);
        assertThat(runner.migrate()).isEmpty();

        Files.writeString(dir.resolve("002_broken.sql"), "INSERT INTO t VALUES (2);\nINSERT INTO no_such_table VALUES (3);");
        assertThatThrownBy(runner::migrate).isInstanceOf(MigrationException.class)
                .hasMessageContaining("002_broken.sql failed").hasMessageContaining("no_such_table");
        try (Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM t")) {
            rs.next();
            assertThat(rs.getInt(1)).as("the failed migration's first insert was rolled back").isEqualTo(1);
        }
        Files.delete(dir.resolve("002_broken.sql"));

        Files.writeString(dir.resolve("001_first.sql"), "CREATE TABLE t (id bigint PRIMARY KEY);");
        assertThatThrownBy(runner::migrate).isInstanceOf(MigrationException.class).hasMessageContaining("was edited");
    }

    @Test
    void duplicateVersionsAndBadNamesAreErrors(@TempDir Path sql) throws Exception {
        Path dir = Files.createDirectories(sql.resolve("clickhouse"));
        Files.writeString(dir.resolve("001_a.sql"), "SELECT 1");
        Files.writeString(dir.resolve("001_b.sql"), "SELECT 2");
        assertThatThrownBy(() -> Migrations.clickHouse(ch, sql, progress::add).files())
                .hasMessageContaining("share version 1");
        Files.delete(dir.resolve("001_b.sql"));
        Files.writeString(dir.resolve("2-bad name.sql"), "SELECT 2");
        assertThatThrownBy(() -> Migrations.clickHouse(ch, sql, progress::add).files())
                .hasMessageContaining("NNN_description.sql");
    }

    private static List<String> tablesIn(ClickHouseAccess ch) {
        List<String> out = new ArrayList<>();
        ch.query("SELECT name FROM system.tables WHERE database = " + io.csr.common.clickhouse.SqlLiteral.string(ch.database()))
                .forEach(r -> out.add(r.get("name").asText()));
        return out;
    }
}
