package io.csr.common.migrate;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterDdlTest {
    private final ClusterDdl ddl = new ClusterDdl("csr", "csr");

    @Test
    void aTableBecomesAReplicatedLocalTableAndADistributedTableShardedByCompany() {
        List<String> out = ddl.translate("""
                CREATE TABLE IF NOT EXISTS metric_windows (
                    company_id String, metric String, window_start DateTime('UTC'), count UInt64, version UInt64
                ) ENGINE = ReplacingMergeTree(version)
                PARTITION BY toYYYYMM(window_start)
                ORDER BY (company_id, metric, window_start)""");
        assertThat(out).hasSize(2);
        assertThat(out.get(0)).startsWith("CREATE TABLE IF NOT EXISTS csr.metric_windows_local ON CLUSTER csr (")
                .contains("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/csr/metric_windows_local', '{replica}', version)")
                .contains("PARTITION BY toYYYYMM(window_start)", "ORDER BY (company_id, metric, window_start)");
        assertThat(out.get(1)).isEqualTo("CREATE TABLE IF NOT EXISTS csr.metric_windows ON CLUSTER csr AS csr.metric_windows_local"
                + " ENGINE = Distributed(csr, csr, metric_windows_local, cityHash64(company_id))");
    }

    @Test
    void aTableWithoutCompanyShardsByTheFirstColumnOfItsKey() {
        List<String> out = ddl.translate("CREATE TABLE IF NOT EXISTS dead_letters (received_at DateTime('UTC'), stream String, "
                + "stream_seq UInt64) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(received_at) ORDER BY (stream, stream_seq)");
        assertThat(out.get(0)).contains("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/csr/dead_letters_local', '{replica}')");
        assertThat(out.get(1)).endsWith("cityHash64(stream))");
    }

    @Test
    void viewsDropsAndInsertSelects() {
        assertThat(ddl.translate("CREATE MATERIALIZED VIEW IF NOT EXISTS v_mv TO v AS SELECT company_id, count() AS c FROM events GROUP BY company_id"))
                .containsExactly("CREATE MATERIALIZED VIEW IF NOT EXISTS csr.v_mv ON CLUSTER csr TO csr.v_local AS SELECT company_id, count() AS c FROM csr.events_local GROUP BY company_id");
        assertThat(ddl.translate("DROP TABLE IF EXISTS hourly_metrics")).containsExactly(
                "DROP TABLE IF EXISTS csr.hourly_metrics ON CLUSTER csr", "DROP TABLE IF EXISTS csr.hourly_metrics_local ON CLUSTER csr");
        String insert = "INSERT INTO t (a) SELECT a FROM s FINAL";
        assertThat(ddl.translate(insert)).containsExactly(insert);
    }

    @Test
    void addedColumnsGoToTheLocalTableThenTheDistributedOneIsCreatedAgainOverIt() {
        assertThat(ddl.translate("ALTER TABLE t ADD COLUMN a Array(UInt8), ADD COLUMN b Float64")).containsExactly(
                "ALTER TABLE csr.t_local ON CLUSTER csr ADD COLUMN a Array(UInt8), ADD COLUMN b Float64",
                "DROP TABLE IF EXISTS csr.t ON CLUSTER csr",
                "CREATE TABLE IF NOT EXISTS csr.t ON CLUSTER csr AS csr.t_local ENGINE = Distributed(csr, csr, t_local, cityHash64(company_id))");
    }

    @Test
    void aStatementWithoutAReplicatedFormFailsNamingIt() {
        assertThatThrownBy(() -> ddl.translate("ALTER TABLE events DROP COLUMN x"))
                .isInstanceOf(MigrationException.class).hasMessageContaining("ALTER TABLE events DROP COLUMN x")
                .hasMessageContaining("ClusterDdl");
    }

    @Test
    void everyMigrationOfTheRepositoryHasAReplicatedForm() {
        Path sql = Path.of("").toAbsolutePath().getParent().resolve("sql");
        for (Migration m : new MigrationRunner(new ClickHouseMigrationTarget(null), sql, s -> { }).files()) {
            assertThat(ddl.translateAll(m.statements())).as(m.label()).isNotEmpty();
        }
    }
}
