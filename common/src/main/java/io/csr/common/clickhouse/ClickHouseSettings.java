package io.csr.common.clickhouse;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

/**
 * Immutable connection settings of the ClickHouse access layer.
 *
 * @param url     one HTTP endpoint, or in the replicated layout a comma-separated list of the replicas of one shard in
 *                the order to fail over to (CLICKHOUSE_URL; docs/pipeline.md "Failing over to another replica")
 * @param cluster empty for one server; else the cluster (remote_servers name) whose replicated layout the schema uses
 *                (CLICKHOUSE_CLUSTER, docs/pipeline.md "Replicated layout")
 */
public record ClickHouseSettings(String url, String user, String password, String database, boolean compression,
                                 long socketTimeoutMs, String cluster) {

    public ClickHouseSettings {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("CLICKHOUSE_URL is empty: it must be an http(s) URL such as http://127.0.0.1:8123");
        }
        for (String one : url.split(",")) {
            String u = one.strip();
            if (!(u.startsWith("http://") || u.startsWith("https://"))) {
                throw new IllegalArgumentException("CLICKHOUSE_URL='" + url + "' must be an http(s) URL such as http://127.0.0.1:8123"
                        + " (or, in the replicated layout, a comma-separated list of one shard's replicas)");
            }
        }
        SqlLiteral.identifier(database);
        cluster = cluster == null ? "" : cluster.trim();
        if (!cluster.isEmpty() && !cluster.matches("[A-Za-z_][A-Za-z0-9_]{0,63}")) {
            throw new IllegalArgumentException("CLICKHOUSE_CLUSTER='" + cluster + "' must be a cluster name from the servers' "
                    + "remote_servers ([A-Za-z_][A-Za-z0-9_]*), or empty for one server");
        }
        if (url.contains(",") && cluster.isEmpty()) {
            throw new IllegalArgumentException("CLICKHOUSE_URL='" + url + "' lists several servers but CLICKHOUSE_CLUSTER is empty: "
                    + "a list names the replicas of one shard to fail over between, which only the replicated layout has");
        }
    }

    /** One server (no cluster). */
    public ClickHouseSettings(String url, String user, String password, String database, boolean compression, long socketTimeoutMs) {
        this(url, user, password, database, compression, socketTimeoutMs, "");
    }

    public static ClickHouseSettings from(CsrConfig config) {
        return new ClickHouseSettings(
                config.get(ConfigKey.CLICKHOUSE_URL),
                config.get(ConfigKey.CLICKHOUSE_USER),
                config.get(ConfigKey.CLICKHOUSE_PASSWORD),
                config.get(ConfigKey.CLICKHOUSE_DATABASE),
                config.getBoolean(ConfigKey.CLICKHOUSE_COMPRESSION),
                config.getLong(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS, 100, 3_600_000),
                config.get(ConfigKey.CLICKHOUSE_CLUSTER));
    }

    /** The endpoints of {@link #url()}, in failover order: one for one server. */
    public java.util.List<String> urls() {
        return java.util.Arrays.stream(url.split(",")).map(String::strip).toList();
    }

    public boolean replicated() {
        return !cluster.isEmpty();
    }

    public ClickHouseSettings withDatabase(String otherDatabase) {
        return new ClickHouseSettings(url, user, password, otherDatabase, compression, socketTimeoutMs, cluster);
    }

    public ClickHouseSettings withUrl(String otherUrl) {
        return new ClickHouseSettings(otherUrl, user, password, database, compression, socketTimeoutMs, cluster);
    }

    public ClickHouseSettings withCluster(String otherCluster) {
        return new ClickHouseSettings(url, user, password, database, compression, socketTimeoutMs, otherCluster);
    }
}
