package io.csr.common.migrate;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * ClickHouse has no transactions: each statement of a migration should be idempotent ({@code IF NOT EXISTS}) so a
 * migration interrupted half-way completes when run again; it is recorded only after its last statement succeeds.
 *
 * <p>In the replicated layout (CLICKHOUSE_CLUSTER set) every statement runs in its {@link ClusterDdl} form, ON CLUSTER,
 * and the ledger itself is a replicated table on one shard read through a Distributed table, so every server and every
 * runner sees the same applied migrations; the lock keeps two runners from applying at once.
 */
public final class ClickHouseMigrationTarget implements MigrationTarget {
    private static final String LEDGER_COLUMNS = "(version UInt32, name String, checksum String, applied_at DateTime('UTC'), duration_ms UInt64)";

    private final ClickHouseAccess clickHouse;
    private final Supplier<AutoCloseable> lock;

    public ClickHouseMigrationTarget(ClickHouseAccess clickHouse) {
        this(clickHouse, () -> () -> { });
    }

    public ClickHouseMigrationTarget(ClickHouseAccess clickHouse, Supplier<AutoCloseable> lock) {
        this.clickHouse = clickHouse;
        this.lock = lock;
    }

    @Override
    public String kind() {
        return "clickhouse";
    }

    @Override
    public String describe() {
        return clickHouse.settings().url() + " database " + clickHouse.database()
                + (clickHouse.settings().replicated() ? " on cluster " + clickHouse.settings().cluster() : "");
    }

    @Override
    public AutoCloseable lock() {
        return lock.get();
    }

    @Override
    public void prepare() {
        clickHouse.createDatabaseIfMissing();
        if (clickHouse.settings().replicated()) {
            for (String statement : cluster().ledger("schema_migrations", LEDGER_COLUMNS, "version")) {
                clickHouse.execute(statement);
            }
        } else {
            clickHouse.execute("CREATE TABLE IF NOT EXISTS schema_migrations " + LEDGER_COLUMNS + " ENGINE = ReplacingMergeTree ORDER BY version");
        }
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
        for (String statement : statements(migration)) {
            if (!columnsAdded(statement)) {
                clickHouse.execute(statement);
            }
        }
        clickHouse.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES ("
                + SqlLiteral.number(migration.version()) + ", " + SqlLiteral.string(migration.name()) + ", "
                + SqlLiteral.string(migration.checksum()) + ", " + SqlLiteral.dateTime(Instant.now()) + ", "
                + SqlLiteral.number(System.currentTimeMillis() - start) + ")");
    }

    /** The statements run for a migration: as written on one server, their ON CLUSTER forms on a cluster. */
    public List<String> statements(Migration migration) {
        return clickHouse.settings().replicated() ? cluster().translateAll(migration.statements()) : migration.statements();
    }

    /** An ALTER adding columns, as written or in its {@link ClusterDdl} form: the table and the first column added. */
    private static final java.util.regex.Pattern ADDS = java.util.regex.Pattern.compile(
            "(?is)ALTER\\s+TABLE\\s+(?:[\\w`]+\\.)?`?(\\w+)`?\\s+(?:ON\\s+CLUSTER\\s+\\S+\\s+)?ADD\\s+COLUMN\\s+(\\w+).*");

    /**
     * Whether the statement adds columns ({@code ALTER TABLE t ADD COLUMN c …}, on a cluster the local table's) and its
     * first column is there already: a migration interrupted after that ALTER (one statement, applied whole) completes
     * when run again, as the {@code IF NOT EXISTS} statements do (18.16 has no {@code ADD COLUMN IF NOT EXISTS}).
     */
    private boolean columnsAdded(String statement) {
        java.util.regex.Matcher m = ADDS.matcher(statement.strip());
        return m.matches() && clickHouse.queryLong("SELECT count() AS c FROM system.columns WHERE database = "
                + SqlLiteral.string(clickHouse.database()) + " AND table = " + SqlLiteral.string(m.group(1))
                + " AND name = " + SqlLiteral.string(m.group(2))) > 0;
    }

    private ClusterDdl cluster() {
        return new ClusterDdl(clickHouse.settings().cluster(), clickHouse.database());
    }
}
