package io.csr.gateway;

import io.csr.gateway.auth.JwtSettings;
import io.csr.gateway.stream.StreamSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresPool;

import java.time.Duration;

/** Immutable settings of one gateway node, read once from {@link CsrConfig} (YAML defaults + environment). */
public record GatewaySettings(String host, int port, String tlsKeystore, String tlsKeystorePassword, JwtSettings jwt,
                              String corsAllowedOrigins, boolean streamingEnabled, int bufferEvents, Duration heartbeat, Duration idleTimeout,
                              int maxConnectionsPerCompany, int maxConnections, int retryAfterSeconds, int readers, Duration historyCheck, boolean directStreams,
                              Duration flagRefresh, String redisUrl, String redisKeyPrefix,
                              int cohortRateLimitPerMinute, long cohortMembershipCacheRows, Duration analyticsRefresh,
                              int apiRateLimitPerMinute, long maxBodyBytes, PostgresPool.Options postgresPool,
                              ConnectionSettings connections, Duration cohortRuleRefresh, boolean cohortDailyAggregates,
                              Duration cohortMonthRefresh, long cohortOpenMonthDaysFromRows, Duration drainGrace) {

    /**
     * Limits of the listener's connections.
     *
     * @param readTimeout    a connection's first request head must be complete this long after the connection started
     * @param idleTimeout    a connection whose thread waits this long for its client (between requests, or inside a
     *                       later head or body) is closed
     * @param maxConnections connections open at once; further ones wait in the accept backlog
     */
    public record ConnectionSettings(Duration readTimeout, Duration idleTimeout, int maxConnections) {
    }

    /** The HS256 secret tokens are verified with (see {@link #jwt()} for every token rule). */
    public String jwtSecret() {
        return jwt.secret();
    }

    /** The SSE endpoint's part of these settings. */
    public StreamSettings stream() {
        return new StreamSettings(streamingEnabled, bufferEvents, heartbeat, idleTimeout, retryAfterSeconds, maxConnections,
                maxConnectionsPerCompany);
    }

    public static GatewaySettings from(CsrConfig c) {
        return new GatewaySettings(
                c.get(ConfigKey.GATEWAY_HOST),
                (int) c.getLong(ConfigKey.GATEWAY_PORT, 0, 65535),
                c.get(ConfigKey.GATEWAY_TLS_KEYSTORE).trim(),
                c.get(ConfigKey.GATEWAY_TLS_KEYSTORE_PASSWORD),
                JwtSettings.from(c),
                c.get(ConfigKey.CORS_ALLOWED_ORIGINS).trim(),
                c.getBoolean(ConfigKey.STREAMING_ENABLED),
                (int) c.getLong(ConfigKey.STREAM_BUFFER_EVENTS, 1, 100_000),
                Duration.ofSeconds(c.getLong(ConfigKey.STREAM_HEARTBEAT_SECONDS, 1, 3600)),
                Duration.ofSeconds(c.getLong(ConfigKey.STREAM_IDLE_TIMEOUT_SECONDS, 1, 86_400)),
                (int) c.getLong(ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY, 1, 1_000_000),
                (int) c.getLong(ConfigKey.STREAM_MAX_CONNECTIONS, 1, 1_000_000),
                (int) c.getLong(ConfigKey.STREAM_RETRY_AFTER_SECONDS, 1, 3600),
                readers(c),
                Duration.ofMillis(c.getLong(ConfigKey.STREAM_HISTORY_CHECK_MS, 0, 60_000)),
                c.getBoolean(ConfigKey.STREAM_DIRECT_CONNECTIONS),
                Duration.ofSeconds(c.getLong(ConfigKey.FEATURE_FLAG_REFRESH_SECONDS, 1, 3600)),
                c.get(ConfigKey.REDIS_URL),
                c.get(ConfigKey.REDIS_KEY_PREFIX),
                (int) c.getLong(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE, 1, 1_000_000),
                c.getLong(ConfigKey.COHORT_MEMBERSHIP_CACHE_ROWS, 0, 100_000_000),
                Duration.ofSeconds(c.getLong(ConfigKey.ANALYTICS_REFRESH_SECONDS, 0, 86_400)),
                (int) c.getLong(ConfigKey.API_RATE_LIMIT_PER_MINUTE, 1, 1_000_000),
                c.getLong(ConfigKey.GATEWAY_MAX_BODY_BYTES, 1_024, 1L << 30),
                PostgresPool.Options.from(c),
                new ConnectionSettings(Duration.ofSeconds(c.getLong(ConfigKey.GATEWAY_READ_TIMEOUT_SECONDS, 1, 3600)),
                        Duration.ofSeconds(c.getLong(ConfigKey.GATEWAY_IDLE_TIMEOUT_SECONDS, 1, 86_400)),
                        (int) c.getLong(ConfigKey.GATEWAY_MAX_CONNECTIONS, 1, 1_000_000)),
                Duration.ofSeconds(c.getLong(ConfigKey.COHORT_RULE_REFRESH_SECONDS, 0, 86_400)),
                c.getBoolean(ConfigKey.COHORT_DAILY_AGGREGATES),
                Duration.ofSeconds(c.getLong(ConfigKey.COHORT_MONTH_REFRESH_SECONDS, 0, 86_400)),
                c.getLong(ConfigKey.COHORT_OPEN_MONTH_DAYS_FROM_ROWS, 0, 1_000_000_000_000L),
                Duration.ofSeconds(c.getLong(ConfigKey.GATEWAY_DRAIN_SECONDS, 1, 300)));
    }

    /**
     * Readers on a Redis Cluster when {@code STREAM_READERS} is not given: there readers poll (one pipeline per node
     * every {@code StreamHub.POLL_MS} each while idle), so the single-Redis default of 32 would make an idle node send
     * 4× the polls of 8; with one Redis or Sentinel an idle reader only re-arms its blocking XREAD.
     */
    static final int CLUSTER_DEFAULT_READERS = 8;

    private static int readers(CsrConfig c) {
        if (!c.isSet(ConfigKey.STREAM_READERS) && c.get(ConfigKey.REDIS_URL).trim().startsWith("redis-cluster://")) {
            return CLUSTER_DEFAULT_READERS;
        }
        return (int) c.getLong(ConfigKey.STREAM_READERS, 1, 64);
    }

    public boolean tlsEnabled() {
        return !tlsKeystore.isEmpty();
    }

    public boolean usesDevSecret() {
        return jwt.secret().equals(ConfigKey.JWT_SECRET.defaultValue());
    }
}
