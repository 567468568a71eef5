package io.csr.gateway.stream;

import io.csr.common.config.ConfigKey;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every event is flushed to the client on its own, not when the next heartbeat happens to flush the connection. The
 * heartbeat here is {@value #HEARTBEAT_SECONDS} s, 30 times the bound an event must arrive within, and each of several
 * probes must meet the bound: with per-event flushing broken an event waits for the heartbeat (or the 10 s wait runs
 * out), where beside a 1 s heartbeat it would still arrive within a second by luck most of the time.
 */
class SseFlushITCase {
    private static final int HEARTBEAT_SECONDS = 30;
    private static final long BOUND_MS = 900;
    private static final int PROBES = 5;
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of(ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), String.valueOf(HEARTBEAT_SECONDS)));
    }

    @Test
    void eachEventLeavesTheServerAsSoonAsItIsPublishedNotWithTheNextHeartbeat() {
        try (SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("flush"), null))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !c.frames.isEmpty());
            long opened = System.currentTimeMillis();
            for (int i = 0; i < PROBES; i++) {
                long before = System.currentTimeMillis();
                StreamEntryID id = fx.publishMetric("flush", "hours", i);
                await().atMost(Duration.ofSeconds(10)).until(() -> c.updateIds().contains(id.toString()));
                Frame f = c.events().stream().filter(e -> id.toString().equals(e.id())).findFirst().orElseThrow();
                assertThat(f.receivedAtMillis() - before).as("probe %d: ms from XADD to the client", i).isLessThan(BOUND_MS);
            }
            assertThat(c.heartbeats()).as("no heartbeat flushed the probes: they all ran within %d s of the stream opening",
                    HEARTBEAT_SECONDS).isZero();
            assertThat(System.currentTimeMillis() - opened).isLessThan(HEARTBEAT_SECONDS * 1000L);
        }
    }
}
