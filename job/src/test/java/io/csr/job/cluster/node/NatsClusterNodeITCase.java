package io.csr.job.cluster.node;

import io.csr.common.net.LocalPorts;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The NATS cluster node kind of {@code csr cluster up --ha} (issue 23) on its own ports: 3 nodes with routes and
 * JetStream, a stream at 3 replicas, 1,000 events published with their ids as Nats-Msg-Id (retried under the same id
 * until acknowledged, as producers must), kill -9 of one node after the first 500 — every event is in the stream once,
 * none lost, none twice; the next up starts the killed node again.
 */
class NatsClusterNodeITCase {
    private static final int EVENTS = 1_000;
    @TempDir
    Path state;
    private NatsClusterNode node;
    private final List<String> progress = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        // 3 client ports, their route (+100) and monitoring (+200) ports
        node = new NatsClusterNode(LocalPorts.freeBase(14_000, 300, 0, 1, 2, 100, 101, 102, 200, 201, 202), state, progress::add);
    }

    @AfterEach
    void tearDown() throws Exception {
        node.stop();
    }

    @Test
    void aStreamAtThreeReplicasLosesNothingAndStoresNothingTwiceWhenANodeIsKilled() throws Exception {
        node.start();
        assertThat(node.status()).hasSize(3).allMatch(NodeStatus::up);
        Options options = new Options.Builder().servers(node.url().split(",")).maxReconnects(-1)
                .reconnectWait(Duration.ofMillis(200)).connectionTimeout(Duration.ofSeconds(2)).build();
        try (Connection nc = Nats.connect(options)) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration stream = StreamConfiguration.builder().name("IT_R3").subjects("it.>").replicas(3)
                    .storageType(StorageType.File).duplicateWindow(Duration.ofMinutes(2)).build();
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> jsm.addStream(stream) != null);
            JetStream js = nc.jetStream();
            for (int i = 0; i < EVENTS; i++) {
                if (i == EVENTS / 2) {
                    node.process(0).kill();
                    assertThat(node.status().get(0).up()).isFalse();
                }
                publish(js, i);
            }
            long count = jsm.getStreamInfo("IT_R3").getStreamState().getMsgCount();
            Set<String> ids = new HashSet<>();
            for (long seq = 1; seq <= count; seq++) {
                MessageInfo m = jsm.getMessage("IT_R3", seq);
                ids.add(new String(m.getData(), StandardCharsets.UTF_8));
            }
            assertThat(count).as("stored once each").isEqualTo(EVENTS);
            assertThat(ids).as("none lost").hasSize(EVENTS);
        }
        node.start();
        assertThat(progress).anyMatch(line -> line.startsWith("nats-n0") && line.contains("started (pid"));
        assertThat(node.status()).hasSize(3);
        // the restarted node rejoins its routes and answers its monitoring port a moment after its process starts
        await("the killed node is up again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> node.status().stream().allMatch(NodeStatus::up));
    }

    /** Until acknowledged, always under the event's id, so a retry after a lost acknowledgement is not stored twice. */
    private static void publish(JetStream js, int i) throws InterruptedException {
        String id = "event-" + i;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                js.publish("it.metrics." + (i % 4), id.getBytes(StandardCharsets.UTF_8),
                        PublishOptions.builder().messageId(id).expectedStream("IT_R3").build());
                return;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("event " + i + " not acknowledged within 60 s", e);
                }
                Thread.sleep(100);
            }
        }
    }
}
