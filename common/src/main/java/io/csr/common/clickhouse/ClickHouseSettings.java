package io.csr.common.clickhouse;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

/** Immutable connection settings of the ClickHouse access layer. */
public record ClickHouseSettings(String url, String user, String password, String database, boolean compression,
                                 long socketTimeoutMs) {

    public ClickHouseSettings {
        if (url == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
            throw new IllegalArgumentException("CLICKHOUSE_URL='" + url + "' must be an http(s) URL such as http://127.0.0.1:8123");
        }
        SqlLiteral.identifier(database);
    }

    public static ClickHouseSettings from(CsrConfig config) {
        return new ClickHouseSettings(
                config.get(ConfigKey.CLICKHOUSE_URL),
                config.get(ConfigKey.CLICKHOUSE_USER),
                config.get(ConfigKey.CLICKHOUSE_PASSWORD),
                config.get(ConfigKey.CLICKHOUSE_DATABASE),
                config.getBoolean(ConfigKey.CLICKHOUSE_COMPRESSION),
                config.getLong(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS, 100, 3_600_000));
    }

    public ClickHouseSettings withDatabase(String otherDatabase) {
        return new ClickHouseSettings(url, user, password, otherDatabase, compression, socketTimeoutMs);
    }
}
