package io.csr.gateway.stream;

import java.time.Duration;

/**
 * What the SSE endpoint needs of the node's settings, handed down by the gateway (so this package never reaches back
 * up to {@code GatewaySettings}).
 */
public record StreamSettings(boolean streamingEnabled, int bufferEvents, Duration heartbeat, Duration idleTimeout,
                             int retryAfterSeconds, int maxConnections, int maxConnectionsPerCompany) {
}
