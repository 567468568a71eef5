package io.csr.gateway.stream;

import io.csr.common.config.ConfigKey;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The history check of a stream's reads on a Redis Cluster (polled reads) is the one of a single Redis: at most once
 * per {@code STREAM_HISTORY_CHECK_MS} per stream, before the first read after a quiet interval is fanned out, and
 * within the interval by the next check, which resets the stream's clients and records the ids fanned out since.
 */
class RedisClusterHistoryCheckITCase {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static RedisClusterGateway gw;

    @BeforeAll
    static void start() throws Exception {
        // the window in which reads are fanned out before their stream's history is checked again
        gw = RedisClusterGateway.start(0, Map.of(ConfigKey.STREAM_HISTORY_CHECK_MS.name(), "4000"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (gw != null) {
            gw.close();
        }
    }

    private static StreamEntryID publish(String company, int version) {
        return gw.publish(company, version);
    }

    private static SseTestClient open(String company, String query) {
        return gw.open(company, query);
    }

    private static void delete(String company) {
        gw.writer().del(gw.fx().key(company));
    }

    /** The first read after a quiet interval is checked before it is fanned out: the reset comes before its frame. */
    @Test
    void streamDeletedWhileQuietGivesResetBeforeTheNextFrame() {
        try (SseTestClient c = open("cquiet", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            StreamEntryID before = publish("cquiet", 0);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            delete("cquiet");
            StreamEntryID after = publish("cquiet", 1);
            await().atMost(WAIT).until(() -> c.updateIds().contains(after.toString()));
            assertThat(c.events()).extracting(Frame::event).containsExactly("metric_updated", "reset", "metric_updated");
            assertThat(c.events().get(1).data()).contains("history_lost");
            try (SseTestClient r = open("cquiet", "lastEventId=" + before)) {
                await().atMost(WAIT).until(() -> !r.events().isEmpty());
                assertThat(r.events().get(0).event()).isEqualTo("reset");
            }
        }
    }

    /**
     * Within the interval a read goes out before its stream is checked again: a stream deleted then still gives one
     * reset, after the frame that followed the deletion, and a client resuming from that frame is reset too.
     */
    @Test
    void streamDeletedWithinTheCheckIntervalGivesResetSoonAndResumersToo() {
        try (SseTestClient c = open("csoon", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            publish("csoon", 0);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            publish("csoon", 1); // the first read after an entry: checked before it is fanned out
            await().atMost(WAIT).until(() -> c.updateIds().size() == 2);
            delete("csoon");
            StreamEntryID after = publish("csoon", 2);
            await().atMost(WAIT).until(() -> c.events().stream().anyMatch(f -> "reset".equals(f.event())));
            List<Frame> events = c.events();
            assertThat(events).extracting(Frame::event).containsExactly("metric_updated", "metric_updated", "metric_updated", "reset");
            assertThat(events.get(2).id()).isEqualTo(after.toString());
            assertThat(events.get(3).data()).contains("history_lost");
            try (SseTestClient r = open("csoon", "lastEventId=" + after)) {
                await().atMost(WAIT).until(() -> !r.events().isEmpty());
                assertThat(r.events().get(0).event()).isEqualTo("reset");
            }
        }
    }
}
