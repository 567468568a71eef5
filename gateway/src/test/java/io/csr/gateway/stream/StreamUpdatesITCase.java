package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.ConfigKey;
import io.csr.common.json.Json;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XTrimParams;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Contract 3 over real HTTP against the real Redis: scoping, resume, reset, heartbeats, expiry, errors, Redis trouble. */
class StreamUpdatesITCase {
    private static final Duration WAIT = Duration.ofSeconds(10);
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of(
                ConfigKey.STREAM_HEARTBEAT_SECONDS.name(), "1",
                ConfigKey.STREAM_BUFFER_EVENTS.name(), "5",
                ConfigKey.STREAM_MAX_CONNECTIONS_PER_COMPANY.name(), "3",
                ConfigKey.STREAM_READERS.name(), "2",
                // the window in which reads are fanned out before their stream's history is checked again
                ConfigKey.STREAM_HISTORY_CHECK_MS.name(), "4000"));
    }

    private SseTestClient open(String company, String query) {
        return SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(company), query));
    }

    private static List<String> ids(List<StreamEntryID> ids) {
        return ids.stream().map(Object::toString).toList();
    }

    @Test
    void firstFrameIsRetryAndHeadersDisableBuffering() {
        try (SseTestClient c = open("hdr", null)) {
            assertThat(c.status).isEqualTo(200);
            assertThat(c.header("Content-Type")).startsWith("text/event-stream");
            assertThat(c.header("Cache-Control")).isEqualTo("no-cache");
            assertThat(c.header("X-Accel-Buffering")).isEqualTo("no");
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            assertThat(c.frames.get(0).retry()).as("3000 ms jittered by ±50 %").isBetween(1500, 4500);
        }
    }

    @Test
    void companyOnlySeesItsOwnEvents() {
        try (SseTestClient a = open("acmeA", null); SseTestClient b = open("acmeB", null)) {
            await().atMost(WAIT).until(() -> !a.frames.isEmpty() && !b.frames.isEmpty());
            List<StreamEntryID> aIds = new ArrayList<>();
            List<StreamEntryID> bIds = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                aIds.add(fx.publishMetric("acmeA", "hours", i));
                bIds.add(fx.publishMetric("acmeB", "hours", i));
            }
            await().atMost(WAIT).until(() -> a.updateIds().size() >= 5 && b.updateIds().size() >= 5);
            assertThat(a.updateIds()).containsExactlyElementsOf(ids(aIds));
            assertThat(b.updateIds()).containsExactlyElementsOf(ids(bIds));
            assertThat(a.events()).allSatisfy(f -> assertThat(f.data()).contains("\"companyId\":\"acmeA\""));
        }
    }

    @Test
    void tokenForAAskingForBIsForbidden() throws Exception {
        SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("acmeA"), "companyId=acmeB"));
        c.assertRefused(403, "company_not_granted", "acmeB");
    }

    @Test
    void resumeDeliversExactlyTheMissedEventsInOrderThenLive() {
        StreamEntryID seen = fx.publishMetric("resume", "hours", 0);
        List<StreamEntryID> missed = new ArrayList<>();
        for (int i = 1; i <= 7; i++) {
            missed.add(fx.publishMetric("resume", "hours", i));
        }
        List<String> expected = new ArrayList<>(ids(missed));
        try (SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("resume"), null),
                Map.of("Last-Event-ID", seen.toString()))) {
            await().atMost(WAIT).until(() -> c.updateIds().size() >= 7);
            List<StreamEntryID> live = List.of(fx.publishMetric("resume", "hours", 8), fx.publishMetric("resume", "hours", 9));
            await().atMost(WAIT).until(() -> c.updateIds().size() >= 9);
            expected.addAll(ids(live));
            assertThat(c.updateIds()).containsExactlyElementsOf(expected);
            assertThat(c.events()).noneMatch(f -> "reset".equals(f.event()));
        }
        // the same through the query parameter (the EventSource reconnect URL): everything after missed[4]
        try (SseTestClient c = open("resume", "lastEventId=" + missed.get(4))) {
            await().atMost(WAIT).until(() -> c.updateIds().size() >= 4);
            assertThat(c.updateIds()).containsExactlyElementsOf(expected.subList(5, 9));
        }
    }

    @Test
    void resumeOlderThanRetentionGetsResetFirstThenLive() {
        StreamEntryID old = fx.publishMetric("trim", "hours", 0);
        fx.publishMetric("trim", "hours", 1);
        StreamEntryID kept = fx.publishMetric("trim", "hours", 2);
        fx.redis.xtrim(fx.key("trim"), XTrimParams.xTrimParams().minId(kept.toString()));
        try (SseTestClient c = open("trim", "lastEventId=" + old)) {
            await().atMost(WAIT).until(() -> !c.events().isEmpty());
            Frame first = c.events().get(0);
            assertThat(first.event()).isEqualTo("reset");
            assertThat(first.data()).contains("\"reason\":\"expired\"");
            StreamEntryID live = fx.publishMetric("trim", "hours", 3);
            await().atMost(WAIT).until(() -> c.updateIds().contains(live.toString()));
            assertThat(c.updateIds()).containsExactly(live.toString());
        }
        try (SseTestClient c = open("trim", "lastEventId=not-an-id")) {
            await().atMost(WAIT).until(() -> !c.events().isEmpty());
            assertThat(c.events().get(0).event()).isEqualTo("reset");
            assertThat(c.events().get(0).data()).contains("malformed_id");
        }
        try (SseTestClient c = open("trim", "lastEventId=" + new StreamEntryID(kept.getTime(), kept.getSequence() + 7))) {
            await().atMost(WAIT).until(() -> !c.events().isEmpty());
            assertThat(c.events().get(0).data()).contains("unknown_id");
        }
    }

    @Test
    void heartbeatsArriveAtTheConfiguredRate() {
        try (SseTestClient c = open("beat", null)) {
            await().atMost(WAIT).until(() -> c.heartbeats() >= 3);
            List<Long> at = c.frames.stream().filter(f -> "heartbeat".equals(f.comment())).map(Frame::receivedAtMillis).toList();
            for (int i = 1; i < at.size(); i++) {
                assertThat(at.get(i) - at.get(i - 1)).isBetween(600L, 1800L);
            }
        }
    }

    @Test
    void streamClosesAtTokenExpiry() {
        String token = fx.tokens.forCompany("exp", Duration.ofSeconds(3));
        long t0 = System.currentTimeMillis();
        try (SseTestClient c = SseTestClient.open(fx.updatesUrl(token, null))) {
            assertThat(c.status).isEqualTo(200);
            await().atMost(WAIT).until(c::ended);
            long took = System.currentTimeMillis() - t0;
            assertThat(took).isBetween(1500L, 6000L);
            Frame last = c.events().get(c.events().size() - 1);
            assertThat(last.event()).isEqualTo("close");
            assertThat(last.data()).contains("token_expired");
        }
    }

    @Test
    void errorBodiesAreJsonAndDecidedBeforeTheStream() throws Exception {
        SseTestClient none = SseTestClient.open(fx.base() + "/stream/updates");
        none.assertRefused(401, "token_missing");

        String forged = io.csr.gateway.TestTokens.mintWith("another-secret-that-is-long-enough-0123456789", "x",
                List.of("acmeA"), List.of(), java.time.Instant.now().plusSeconds(60));
        SseTestClient bad = SseTestClient.open(fx.updatesUrl(forged, null));
        bad.assertRefused(401, "token_invalid");

        String expired = fx.tokens.mint("x", List.of("acmeA"), List.of(), java.time.Instant.now().minusSeconds(5));
        SseTestClient exp = SseTestClient.open(fx.base() + "/stream/updates", Map.of("Authorization", "Bearer " + expired));
        exp.assertRefused(401, "token_expired");
        assertThat(exp.header("Content-Type")).startsWith("application/json");
    }

    @Test
    void perCompanyFlagOffAnswers501() throws Exception {
        try (SseTestClient open = open("flagged", null)) {
            await().atMost(WAIT).until(() -> !open.frames.isEmpty());
            fx.setStreamingFlag("flagged", false);
            // a stream that was open when the flag went off is ended, with the reason
            await().atMost(WAIT).until(open::ended);
            assertThat(open.events().get(open.events().size() - 1).data()).contains("streaming_disabled");
        }
        await().atMost(WAIT).until(() -> {
            try (SseTestClient probe = open("flagged", null)) {
                return probe.status == 501;   // 200 until the flags are re-read (FEATURE_FLAG_REFRESH_SECONDS=1)
            }
        });
        open("flagged", null).assertRefused(501, "streaming_disabled", "flagged");
        fx.setStreamingFlag("flagged", true);
        await().atMost(WAIT).until(() -> {
            try (SseTestClient ok = open("flagged", null)) {
                return ok.status == 200;
            }
        });
    }

    @Test
    void perCompanyLimitAnswers429WithRetryAfter() throws Exception {
        List<SseTestClient> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                held.add(open("limited", null));
                assertThat(held.get(i).status).isEqualTo(200);
            }
            SseTestClient over = open("limited", null);
            over.assertRefused(429, "too_many_streams");
            assertThat(over.header("Retry-After")).isEqualTo("5");
            // another company is not affected
            try (SseTestClient other = open("unlimited", null)) {
                assertThat(other.status).isEqualTo(200);
            }
        } finally {
            held.forEach(SseTestClient::close);
        }
        await().atMost(WAIT).until(() -> {
            try (SseTestClient again = open("limited", null)) {
                return again.status == 200;
            }
        });
    }

    @Test
    void readerConnectionKilledContinuesWithoutGap() {
        try (SseTestClient c = open("kill", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            List<StreamEntryID> all = new ArrayList<>();
            all.add(fx.publishMetric("kill", "hours", 0));
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            int killed = killReaderConnections();
            assertThat(killed).isGreaterThan(0);
            // the open /stream/health tells that a read failed, not Redis's or the client's text
            List<String> errors = await().atMost(WAIT).until(() -> fx.gateway.hub().readerStates().stream()
                    .map(m -> String.valueOf(m.get("lastError"))).filter(e -> !e.isEmpty()).toList(), e -> !e.isEmpty());
            assertThat(errors).allMatch(e -> e.matches("Redis read failed at \\S+; the cause is in the gateway log"), "no client text");
            for (int i = 1; i <= 5; i++) {
                all.add(fx.publishMetric("kill", "hours", i));
            }
            await().atMost(WAIT).until(() -> c.updateIds().size() >= 6);
            assertThat(c.updateIds()).containsExactlyElementsOf(ids(all));
            assertThat(c.events()).noneMatch(f -> "reset".equals(f.event()));
        }
    }

    @Test
    void redisRestartThatLostTheDataGivesResetThenTheNewEvents() {
        try (SseTestClient c = open("restart", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            fx.publishMetric("restart", "hours", 0);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            // a restart without persistence: the data is gone and the readers' connections drop
            fx.redis.del(fx.key("restart"));
            assertThat(killReaderConnections()).isGreaterThan(0);
            await().atMost(WAIT).until(() -> c.events().stream().anyMatch(f -> "reset".equals(f.event())));
            StreamEntryID after = fx.publishMetric("restart", "hours", 1);
            await().atMost(WAIT).until(() -> c.updateIds().contains(after.toString()));
            assertThat(c.events()).extracting(Frame::event).containsExactly("metric_updated", "reset", "metric_updated");
            assertThat(c.events().get(1).data()).contains("history_lost");
        }
    }

    /**
     * Issue 23: a failover that lost the tail, then the new master issued the reader's cursor id again for another
     * update. The reader sees the entry under its cursor changed: reset once (not a wrong frame, not the whole history
     * again), then the updates after it; a client resuming later from that id is told too, though the id exists.
     */
    @Test
    void cursorIdIssuedAgainForAnotherUpdateGivesOneResetAndResumersToo() {
        try (SseTestClient c = open("reissue", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            fx.publishMetric("reissue", "hours", 0);
            StreamEntryID seen = fx.publishMetric("reissue", "hours", 1);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 2);
            // the new master has the first entry but not the second, and issues the second's id for another update
            redis.clients.jedis.resps.StreamEntry kept = fx.redis.xrange(fx.key("reissue"), (StreamEntryID) null, (StreamEntryID) null, 1).get(0);
            fx.redis.del(fx.key("reissue"));
            fx.redis.xadd(fx.key("reissue"), redis.clients.jedis.params.XAddParams.xAddParams().id(kept.getID()), kept.getFields());
            fx.redis.xadd(fx.key("reissue"), redis.clients.jedis.params.XAddParams.xAddParams().id(seen),
                    Map.of("type", "metric_updated", "data", "{\"companyId\":\"reissue\",\"other\":true}"));
            assertThat(killReaderConnections()).isGreaterThan(0);
            await().atMost(WAIT).until(() -> c.events().stream().anyMatch(f -> "reset".equals(f.event())));
            StreamEntryID after = fx.publishMetric("reissue", "hours", 2);
            await().atMost(WAIT).until(() -> c.updateIds().contains(after.toString()));
            assertThat(c.events()).extracting(Frame::event).containsExactly("metric_updated", "metric_updated", "reset", "metric_updated");
            assertThat(c.updateIds()).containsExactly(c.updateIds().get(0), seen.toString(), after.toString());
            assertThat(c.events()).noneMatch(f -> f.data().contains("\"other\""));
            try (SseTestClient r = open("reissue", "lastEventId=" + seen)) {
                await().atMost(WAIT).until(() -> !r.events().isEmpty());
                assertThat(r.events().get(0).event()).isEqualTo("reset");
                assertThat(r.events().get(0).data()).contains("id_reissued");
            }
        }
    }

    @Test
    void streamLostInRedisGivesResetNeverSilence() {
        try (SseTestClient c = open("lost", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            StreamEntryID before = fx.publishMetric("lost", "hours", 0);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            fx.redis.del(fx.key("lost"));
            StreamEntryID after = fx.publishMetric("lost", "hours", 1);
            await().atMost(WAIT).until(() -> c.updateIds().contains(after.toString()));
            List<Frame> events = c.events();
            assertThat(events).extracting(Frame::event).containsExactly("metric_updated", "reset", "metric_updated");
            assertThat(events.get(1).data()).contains("history_lost");
            // a client resuming from the lost id is told too
            try (SseTestClient r = open("lost", "lastEventId=" + before)) {
                await().atMost(WAIT).until(() -> !r.events().isEmpty());
                assertThat(r.events().get(0).event()).isEqualTo("reset");
            }
        }
    }

    /**
     * Within {@code STREAM_HISTORY_CHECK_MS} of a check, reads are fanned out before their stream is checked again: a
     * stream deleted in that window still gives one reset, at most that interval later, after the frames that followed
     * the deletion; and a client resuming from one of those frames is told too (they may have followed a gap).
     */
    @Test
    void streamDeletedWithinTheCheckIntervalGivesResetSoonAndResumersToo() {
        try (SseTestClient c = open("lostsoon", null)) {
            await().atMost(WAIT).until(() -> !c.frames.isEmpty());
            fx.publishMetric("lostsoon", "hours", 0);
            await().atMost(WAIT).until(() -> c.updateIds().size() == 1);
            fx.publishMetric("lostsoon", "hours", 1); // the first read after an entry: checked before it is fanned out
            await().atMost(WAIT).until(() -> c.updateIds().size() == 2);
            fx.redis.del(fx.key("lostsoon"));
            StreamEntryID after = fx.publishMetric("lostsoon", "hours", 2);
            await().atMost(WAIT).until(() -> c.events().stream().anyMatch(f -> "reset".equals(f.event())));
            List<Frame> events = c.events();
            assertThat(events).extracting(Frame::event).containsExactly("metric_updated", "metric_updated", "metric_updated", "reset");
            assertThat(events.get(2).id()).isEqualTo(after.toString());
            assertThat(events.get(3).data()).contains("history_lost");
            try (SseTestClient r = open("lostsoon", "lastEventId=" + after)) {
                await().atMost(WAIT).until(() -> !r.events().isEmpty());
                assertThat(r.events().get(0).event()).isEqualTo("reset");
            }
        }
    }

    @Test
    void statsAreScopedAndMetricsArePrometheusText() throws Exception {
        try (SseTestClient a = open("statsA", null); SseTestClient b = open("statsB", null)) {
            await().atMost(WAIT).until(() -> !a.frames.isEmpty() && !b.frames.isEmpty());
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> mine = http.send(HttpRequest.newBuilder(URI.create(fx.base() + "/stream/stats"))
                    .header("Authorization", "Bearer " + fx.tokens.forCompany("statsA")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(mine.statusCode()).isEqualTo(200);
            JsonNode body = Json.mapper().readTree(mine.body());
            assertThat(body.get("companies")).hasSize(1);
            assertThat(body.get("companies").get(0).get("companyId").asText()).isEqualTo("statsA");
            assertThat(body.get("companies").get(0).get("connections").asLong()).isEqualTo(1);

            HttpResponse<String> all = http.send(HttpRequest.newBuilder(URI.create(fx.base() + "/stream/stats"))
                    .header("Authorization", "Bearer " + fx.tokens.operator(List.of())).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode adminBody = Json.mapper().readTree(all.body());
            assertThat(adminBody.get("scope").asText()).isEqualTo("all");
            assertThat(adminBody.get("companies").findValuesAsText("companyId")).contains("statsA", "statsB");

            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(fx.base() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.body()).contains("# TYPE csr_stream_connections gauge", "csr_stream_delivery_latency_seconds_bucket{le=\"+Inf\"}",
                    "csr_stream_evictions_total", "csr_stream_resets_total", "csr_stream_replays_total", "csr_stream_events_delivered_total");

            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(fx.base() + "/stream/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(Json.mapper().readTree(health.body()).get("status").asText()).isEqualTo("UP");
        }
    }

    /** CLIENT KILL of this gateway's reader connections only (found by their CLIENT SETNAME), never anyone else's. */
    private static int killReaderConnections() {
        List<String> names = fx.gateway.hub().readerStates().stream().map(m -> String.valueOf(m.get("name"))).toList();
        int killed = 0;
        for (String line : fx.redis.clientList().split("\n")) {
            for (String name : names) {
                if (line.contains(" name=" + name + " ")) {
                    String id = line.substring(line.indexOf("id=") + 3, line.indexOf(' ', line.indexOf("id=")));
                    fx.redis.clientKill(new redis.clients.jedis.params.ClientKillParams().id(id));
                    killed++;
                }
            }
        }
        return killed;
    }
}
