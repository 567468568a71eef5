package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.json.Json;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.csr.gateway.TestRows.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** /stream/snapshot against a real ClickHouse database of its own and the company's Redis stream; /health. */
class SnapshotITCase {
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    private static ClickHouseAccess ch;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse(); // dropped by fx.close()
    }

    private static Map<String, Object> window(String company, String metric, String size, String start, long count, double avg, long version) {
        return row("company_id", company, "metric", metric, "window_size", size, "window_start", start, "window_end", start,
                "count", count, "sum", avg * count, "min", 0.0, "max", 2 * avg, "avg", avg, "p50", avg, "p75", avg, "p95", avg,
                "stddev", 0.5, "version", version, "final", 0, "updated_at", start);
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fx.base() + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void snapshotHasTheLatestWindowPerMetricTheJourneyCountsAndAResumePoint() throws Exception {
        ch.insertRows("metric_windows", List.of(
                window("snapA", "sroi", "1h", "2026-11-27 09:00:00", 10, 2.0, 1),
                window("snapA", "sroi", "1h", "2026-11-27 10:00:00", 4, 3.0, 1),
                window("snapA", "sroi", "1h", "2026-11-27 10:00:00", 5, 3.5, 2),   // newer version of the same window
                window("snapA", "hours", "1m", "2026-11-27 10:01:00", 7, 1.0, 3),
                window("snapB", "sroi", "1h", "2026-11-27 11:00:00", 99, 9.0, 1))); // another company: never shown
        fx.xadd("snapA", "journey_flag_updated", "{\"companyId\":\"snapA\",\"flag\":\"onboarded\",\"usersFlagged\":1,\"userId\":\"u1\",\"value\":true,\"occurredAt\":\"2026-11-27T10:00:00Z\"}");
        fx.xadd("snapA", "journey_flag_updated", "{\"companyId\":\"snapA\",\"flag\":\"onboarded\",\"usersFlagged\":2,\"userId\":\"u2\",\"value\":true,\"occurredAt\":\"2026-11-27T10:00:01Z\"}");
        StreamEntryID last = fx.xadd("snapA", "journey_flag_updated", "{\"companyId\":\"snapA\",\"flag\":\"mentor_matched\",\"usersFlagged\":1,\"userId\":\"u1\",\"value\":true,\"occurredAt\":\"2026-11-27T10:00:02Z\"}");

        HttpResponse<String> res = get("/stream/snapshot", fx.tokens.forCompany("snapA"));
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        JsonNode body = Json.mapper().readTree(res.body());
        assertThat(body.get("companyId").asText()).isEqualTo("snapA");
        assertThat(body.get("lastEventId").asText()).isEqualTo(last.toString());
        JsonNode metrics = body.get("metrics");
        assertThat(metrics).hasSize(2);
        JsonNode hours = metrics.get(0);
        assertThat(hours.get("metric").asText()).isEqualTo("hours");
        assertThat(hours.get("type").asText()).isEqualTo("metric_updated");
        JsonNode sroi = metrics.get(1);
        assertThat(sroi.get("type").asText()).isEqualTo("sroi_updated");
        assertThat(sroi.get("windowStart").asText()).isEqualTo("2026-11-27T10:00:00Z");
        assertThat(sroi.get("count").asLong()).isEqualTo(5);
        assertThat(sroi.get("avg").asDouble()).isEqualTo(3.5);
        assertThat(sroi.get("version").asLong()).isEqualTo(2);
        JsonNode journeys = body.get("journeys");
        assertThat(journeys.findValuesAsText("flag")).containsExactly("mentor_matched", "onboarded");
        assertThat(journeys.get(1).get("usersFlagged").asLong()).isEqualTo(2);

        // the snapshot's lastEventId is a resume point: the stream continues after it with nothing missed
        StreamEntryID next = fx.publishMetric("snapA", "hours", 4);
        try (SseTestClient c = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany("snapA"), "lastEventId=" + last))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !c.updateIds().isEmpty());
            assertThat(c.updateIds()).containsExactly(next.toString());
        }

        assertThat(get("/stream/snapshot?companyId=snapB", fx.tokens.forCompany("snapA")).statusCode()).isEqualTo(403);
        assertThat(get("/stream/snapshot", null).statusCode()).isEqualTo(401);
    }

    private static String update(String company, String metric, String window, String start, long count, long version) {
        return "{\"companyId\":\"" + company + "\",\"metric\":\"" + metric + "\",\"window\":\"" + window + "\",\"windowStart\":\"" + start + "\","
                + "\"count\":" + count + ",\"sum\":" + count + ".0,\"min\":1.0,\"max\":1.0,\"avg\":1.0,\"p50\":1.0,\"p75\":1.0,\"p95\":1.0,"
                + "\"stddev\":0.0,\"version\":" + version + ",\"final\":false}";
    }

    /**
     * The job publishes to Redis when a window fires and ClickHouse holds the row only after the next checkpoint: a
     * snapshot taken in between used to show the older ClickHouse value while its lastEventId already lay past the
     * newer update, so the client never saw it. Now each window shows the newer of the two.
     */
    @Test
    void snapshotPlusLiveStreamNeverLeavesAClientOnAValueOlderThanRedisOrClickHouseHolds() throws Exception {
        String c = "snapFresh";
        ch.insertRows("metric_windows", List.of(
                window(c, "hours", "1h", "2026-11-27 10:00:00", 5, 1.0, 10),   // committed: v10 of the 10:00 hour
                window(c, "hours", "1m", "2026-11-27 10:05:00", 3, 1.0, 6),    // committed: the 10:05 minute
                window(c, "vis", "1h", "2026-11-27 10:00:00", 9, 1.0, 18)));   // committed and newer than the stream's copy
        fx.xadd(c, "vis_updated", update(c, "vis", "1h", "2026-11-27T10:00:00Z", 8, 16));
        // published but not yet committed to ClickHouse (the checkpoint is still running)
        fx.xadd(c, "metric_updated", update(c, "hours", "1h", "2026-11-27T10:00:00Z", 7, 14));
        fx.xadd(c, "metric_updated", update(c, "hours", "1m", "2026-11-27T10:06:00Z", 1, 2));  // a minute ClickHouse has not seen yet
        fx.xadd(c, "sroi_updated", update(c, "sroi", "1d", "2026-11-27T00:00:00Z", 2, 4));   // a metric ClickHouse has not seen at all
        StreamEntryID last = fx.xadd(c, "metric_updated", update(c, "hours", "1h", "2026-11-27T09:00:00Z", 40, 81)); // a late firing of an older hour

        HttpResponse<String> res = get("/stream/snapshot", fx.tokens.forCompany(c));
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        JsonNode body = Json.mapper().readTree(res.body());
        assertThat(body.get("lastEventId").asText()).isEqualTo(last.toString());
        Map<String, JsonNode> byWindow = new LinkedHashMap<>();
        body.get("metrics").forEach(m -> byWindow.put(m.get("metric").asText() + "/" + m.get("window").asText(), m));
        assertThat(byWindow.keySet()).containsExactly("hours/1h", "hours/1m", "sroi/1d", "vis/1h");
        assertThat(byWindow.get("hours/1h").get("windowStart").asText()).isEqualTo("2026-11-27T10:00:00Z");
        assertThat(byWindow.get("hours/1h").get("version").asLong()).as("the stream's v14 beats ClickHouse's v10").isEqualTo(14);
        assertThat(byWindow.get("hours/1h").get("count").asLong()).isEqualTo(7);
        assertThat(byWindow.get("hours/1m").get("windowStart").asText()).as("the newer minute from the stream").isEqualTo("2026-11-27T10:06:00Z");
        assertThat(byWindow.get("sroi/1d").get("type").asText()).isEqualTo("sroi_updated");
        assertThat(byWindow.get("sroi/1d").get("version").asLong()).isEqualTo(4);
        assertThat(byWindow.get("vis/1h").get("version").asLong()).as("ClickHouse's v18 beats the stream's older v16").isEqualTo(18);
        assertThat(byWindow.get("vis/1h").get("type").asText()).isEqualTo("vis_updated");

        // and the live stream continues right after the snapshot's resume id
        StreamEntryID next = fx.xadd(c, "metric_updated", update(c, "hours", "1h", "2026-11-27T10:00:00Z", 8, 16));
        try (SseTestClient sse = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(c), "lastEventId=" + body.get("lastEventId").asText()))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !sse.updateIds().isEmpty());
            assertThat(sse.updateIds()).containsExactly(next.toString());
        }
    }

    @Test
    void healthReportsEachServiceWithLatency() throws Exception {
        HttpResponse<String> res = get("/health", null);
        JsonNode body = Json.mapper().readTree(res.body());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        assertThat(body.get("status").asText()).isEqualTo("UP");
        for (String svc : List.of("clickhouse", "redis", "postgres")) {
            assertThat(body.get("checks").get(svc).get("status").asText()).isEqualTo("UP");
            assertThat(body.get("checks").get(svc).get("latencyMs").asDouble()).isGreaterThanOrEqualTo(0.0);
        }
    }
}
