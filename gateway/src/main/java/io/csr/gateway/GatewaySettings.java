package io.csr.gateway;

import io.csr.gateway.stream.StreamSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Immutable settings of one gateway node, read once from {@link CsrConfig} (YAML defaults + environment). */
public record GatewaySettings(String host, int port, String tlsKeystore, String tlsKeystorePassword, String jwtSecret, String jwksUrl,
                              String corsAllowedOrigins, boolean streamingEnabled, int bufferEvents, Duration heartbeat, Duration idleTimeout,
                              int maxConnectionsPerCompany, int maxConnections, int retryAfterSeconds, int readers, boolean directStreams,
                              Duration flagRefresh, String redisUrl, String redisKeyPrefix,
                              int cohortRateLimitPerMinute, long cohortMembershipCacheRows, Duration analyticsRefresh) {

    public GatewaySettings {
        if (jwtSecret.getBytes(StandardCharsets.UTF_8).length < 32) {
            throw new IllegalArgumentException("JWT_SECRET must be at least 32 bytes for HS256 (it has "
                    + jwtSecret.getBytes(StandardCharsets.UTF_8).length + "); generate one with: openssl rand -base64 48");
        }
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
                c.require(ConfigKey.JWT_SECRET),
                c.get(ConfigKey.JWT_JWKS_URL).trim(),
                c.get(ConfigKey.CORS_ALLOWED_ORIGINS).trim(),
                c.getBoolean(ConfigKey.STREAMING_ENABLED),
                (int) c.getLong(ConfigKey.STREAM_BUFFER_EVENTS, 1, 100_000),
                Duration.ofSeconds(c.getLong(ConfigKey.STREAM_HEARTBEAT_SECONDS, 1, 3600)),
                Duration.ofSeconds(c.getLong(ConfigKey.STREAM_IDLE_TIMEOUT_SECONDS, 1, 86_400)),
                (int) c.getLong(ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY, 1, 1_000_000),
                (int) c.getLong(ConfigKey.STREAM_MAX_CONNECTIONS, 1, 1_000_000),
                (int) c.getLong(ConfigKey.STREAM_RETRY_AFTER_SECONDS, 1, 3600),
                (int) c.getLong(ConfigKey.STREAM_READERS, 1, 64),
                c.getBoolean(ConfigKey.STREAM_DIRECT_CONNECTIONS),
                Duration.ofSeconds(c.getLong(ConfigKey.FEATURE_FLAG_REFRESH_SECONDS, 1, 3600)),
                c.get(ConfigKey.REDIS_URL),
                c.get(ConfigKey.REDIS_KEY_PREFIX),
                (int) c.getLong(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE, 1, 1_000_000),
                c.getLong(ConfigKey.COHORT_MEMBERSHIP_CACHE_ROWS, 0, 100_000_000),
                Duration.ofSeconds(c.getLong(ConfigKey.ANALYTICS_REFRESH_SECONDS, 0, 86_400)));
    }

    public boolean tlsEnabled() {
        return !tlsKeystore.isEmpty();
    }

    public boolean usesDevSecret() {
        return jwtSecret.equals(ConfigKey.JWT_SECRET.defaultValue());
    }
}
