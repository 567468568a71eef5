package io.csr.common.migrate;

import io.csr.common.clickhouse.SqlLiteral;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The replicated layout of a ClickHouse migration: each statement of {@code sql/clickhouse/*.sql} (written for one
 * server) as the statements that do the same on every server of a cluster. Kept inside the dialect 18.16 and 24.x share.
 *
 * <ul>
 *   <li>{@code CREATE TABLE IF NOT EXISTS t (…) ENGINE = XMergeTree[(v)] …} becomes {@code t_local ON CLUSTER} with
 *       {@code ReplicatedXMergeTree('/clickhouse/tables/{shard}/<db>/t_local', '{replica}'[, v])} (the servers' macros
 *       fill in shard and replica) and {@code t ON CLUSTER AS t_local ENGINE = Distributed(cluster, db, t_local,
 *       key)}: readers and writers keep using the plain name.</li>
 *   <li>The sharding key is {@code cityHash64(company_id)} for every table that has a company: a company's rows — every
 *       version of every key — live on one shard, so {@code FINAL}, per-company aggregates and joins on company are
 *       exact per shard. Tables without a company ({@code sink_commits}, {@code dead_letters}) shard by their key's
 *       first column.</li>
 *   <li>{@code CREATE MATERIALIZED VIEW … TO t AS … FROM s} runs on every server between the local tables;
 *       {@code DROP TABLE IF EXISTS t} drops the Distributed table and its local table everywhere.</li>
 *   <li>{@code INSERT … SELECT} goes through the Distributed tables as written.</li>
 *   <li>{@code ALTER TABLE t ADD COLUMN …[, ADD COLUMN …]} alters the local table ON CLUSTER, then drops the Distributed
 *       table and creates it again over the altered local one (18.16 refuses an ALTER ON CLUSTER of a Distributed table
 *       when the shards are replicated; a Distributed table holds no rows). Only tables sharded by company: the new
 *       Distributed table is sharded by {@code cityHash64(company_id)}, and its CREATE fails on a table without one.</li>
 * </ul>
 * Anything else fails loudly, naming the statement: a new kind of DDL needs its cluster form here first.
 */
public final class ClusterDdl {
    private static final Pattern CREATE_TABLE = Pattern.compile(
            "(?is)CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s+(\\w+)\\s*(\\(.*\\))\\s*ENGINE\\s*=\\s*(\\w*MergeTree)\\s*(\\(([^)]*)\\))?(.*)");
    private static final Pattern CREATE_VIEW = Pattern.compile(
            "(?is)CREATE\\s+MATERIALIZED\\s+VIEW\\s+IF\\s+NOT\\s+EXISTS\\s+(\\w+)\\s+TO\\s+(\\w+)\\s+AS\\s+(.*)");
    private static final Pattern DROP_TABLE = Pattern.compile("(?is)DROP\\s+TABLE\\s+IF\\s+EXISTS\\s+(\\w+)\\s*");
    /** One ALTER adding columns (18.16 has no {@code IF NOT EXISTS} there; {@link ClickHouseMigrationTarget} skips it once applied). */
    static final Pattern ADD_COLUMNS = Pattern.compile("(?is)ALTER\\s+TABLE\\s+(\\w+)\\s+(ADD\\s+COLUMN\\s.*)");
    private static final Pattern INSERT_SELECT = Pattern.compile("(?is)INSERT\\s+INTO\\s+\\w+\\s*(\\([^)]*\\))?\\s*SELECT\\s.*");
    private static final Pattern FROM_TABLE = Pattern.compile("(?i)\\bFROM\\s+(\\w+)");
    private static final Pattern ORDER_BY_FIRST = Pattern.compile("(?is)ORDER\\s+BY\\s*\\(?\\s*(\\w+)");

    private final String cluster;
    private final String database;

    public ClusterDdl(String cluster, String database) {
        this.cluster = SqlLiteral.identifier(cluster);
        this.database = SqlLiteral.identifier(database);
    }

    public List<String> translate(String statement) {
        String sql = statement.strip();
        Matcher m = CREATE_TABLE.matcher(sql);
        if (m.matches()) {
            return createTable(m.group(1), m.group(2), m.group(3), m.group(5), m.group(6));
        }
        m = CREATE_VIEW.matcher(sql);
        if (m.matches()) {
            String select = FROM_TABLE.matcher(m.group(3)).replaceAll(r -> "FROM " + qualified(r.group(1) + "_local"));
            return List.of("CREATE MATERIALIZED VIEW IF NOT EXISTS " + qualified(m.group(1)) + " ON CLUSTER " + cluster
                    + " TO " + qualified(m.group(2) + "_local") + " AS " + select);
        }
        m = DROP_TABLE.matcher(sql);
        if (m.matches()) {
            return List.of("DROP TABLE IF EXISTS " + qualified(m.group(1)) + " ON CLUSTER " + cluster,
                    "DROP TABLE IF EXISTS " + qualified(m.group(1) + "_local") + " ON CLUSTER " + cluster);
        }
        if (INSERT_SELECT.matcher(sql).matches()) {
            return List.of(sql);
        }
        m = ADD_COLUMNS.matcher(sql);
        if (m.matches()) {
            String local = m.group(1) + "_local";
            return List.of("ALTER TABLE " + qualified(local) + " ON CLUSTER " + cluster + " " + m.group(2),
                    "DROP TABLE IF EXISTS " + qualified(m.group(1)) + " ON CLUSTER " + cluster,
                    "CREATE TABLE IF NOT EXISTS " + qualified(m.group(1)) + " ON CLUSTER " + cluster + " AS " + qualified(local)
                            + " ENGINE = Distributed(" + cluster + ", " + database + ", " + local + ", cityHash64(company_id))");
        }
        throw new MigrationException("no replicated form for this migration statement (CLICKHOUSE_CLUSTER=" + cluster
                + "): " + abbreviate(sql) + " — add its translation to ClusterDdl");
    }

    /** The migrations ledger: replicated on every server, one shard holds it all (key 0), read through Distributed. */
    public List<String> ledger(String table, String columns, String orderBy) {
        String local = table + "_local";
        return List.of("CREATE TABLE IF NOT EXISTS " + qualified(local) + " ON CLUSTER " + cluster + " " + columns
                        + " ENGINE = ReplicatedReplacingMergeTree(" + zkPath(local) + ", '{replica}') ORDER BY " + orderBy,
                "CREATE TABLE IF NOT EXISTS " + qualified(table) + " ON CLUSTER " + cluster + " AS " + qualified(local)
                        + " ENGINE = Distributed(" + cluster + ", " + database + ", " + local + ", 0)");
    }

    private List<String> createTable(String table, String columns, String engine, String engineArgs, String rest) {
        String local = table + "_local";
        String args = zkPath(local) + ", '{replica}'" + (engineArgs == null || engineArgs.isBlank() ? "" : ", " + engineArgs.strip());
        return List.of("CREATE TABLE IF NOT EXISTS " + qualified(local) + " ON CLUSTER " + cluster + " " + columns
                        + " ENGINE = Replicated" + engine + "(" + args + ")" + rest,
                "CREATE TABLE IF NOT EXISTS " + qualified(table) + " ON CLUSTER " + cluster + " AS " + qualified(local)
                        + " ENGINE = Distributed(" + cluster + ", " + database + ", " + local + ", " + shardingKey(columns, rest) + ")");
    }

    static String shardingKey(String columns, String rest) {
        if (Pattern.compile("(?i)[(,]\\s*company_id\\s+String").matcher(columns).find()) {
            return "cityHash64(company_id)";
        }
        Matcher first = ORDER_BY_FIRST.matcher(rest);
        if (!first.find()) {
            throw new MigrationException("a table without company_id and without ORDER BY has no sharding key: " + abbreviate(columns));
        }
        return "cityHash64(" + first.group(1) + ")";
    }

    private String zkPath(String localTable) {
        return "'/clickhouse/tables/{shard}/" + database + "/" + localTable + "'";
    }

    private String qualified(String table) {
        return database + "." + SqlLiteral.identifier(table);
    }

    private static String abbreviate(String sql) {
        String one = sql.replaceAll("\\s+", " ");
        return one.length() > 160 ? one.substring(0, 160) + "…" : one;
    }

    public List<String> translateAll(List<String> statements) {
        List<String> out = new ArrayList<>();
        statements.forEach(s -> out.addAll(translate(s)));
        return out;
    }
}
