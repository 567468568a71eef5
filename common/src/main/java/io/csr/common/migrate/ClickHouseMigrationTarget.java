package io.csr.common.migrate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * ClickHouse has no transactions: each statement of a migration should be idempotent ({@code IF NOT EXISTS}) so a
 * migration interrupted half-way completes when run again; it is recorded only after its last statement succeeds.
 */
public final class ClickHouseMigrationTarget implements MigrationTarget {
    private final ClickHouseAccess clickHouse;

    public ClickHouseMigrationTarget(ClickHouseAccess clickHouse) {
        this.clickHouse = clickHouse;
    }

    @Override
    public String kind() {
        return "clickhouse";
    }

    @Override
    public String describe() {
        return clickHouse.settings().url() + " database " + clickHouse.database();
    }

    @Override
    public void prepare() {
        clickHouse.createDatabaseIfMissing();
        clickHouse.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, checksum String, "
                + "applied_at DateTime('UTC'), duration_ms UInt64) ENGINE = ReplacingMergeTree ORDER BY version");
    }

    @Override
    public Map<Integer, AppliedMigration> applied() {
        Map<Integer, AppliedMigration> out = new TreeMap<>();
        for (JsonNode row : clickHouse.query("SELECT version, name, checksum, toString(applied_at) AS applied_at "
                + "FROM schema_migrations FINAL ORDER BY version")) {
            int v = row.get("version").asInt();
            out.put(v, new AppliedMigration(v, row.get("name").asText(), row.get("checksum").asText(), row.get("applied_at").asText()));
        }
        return out;
    }

    @Override
    public void apply(Migration migration) {
        long start = System.currentTimeMillis();
        for (String statement : migration.statements()) {
            clickHouse.execute(statement);
        }
        clickHouse.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES ("
                + SqlLiteral.number(migration.version()) + ", " + SqlLiteral.string(migration.name()) + ", "
                + SqlLiteral.string(migration.checksum()) + ", " + SqlLiteral.dateTime(Instant.now()) + ", "
                + SqlLiteral.number(System.currentTimeMillis() - start) + ")");
    }
}
