package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.contract.RedisStreams;
import io.csr.common.contract.UpdateType;
import io.csr.common.json.Json;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.csr.gateway.limits.RateLimiter;
import io.csr.gateway.limits.ChargedCall;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.resps.StreamEntry;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code GET /stream/snapshot[?companyId=]}: the company's current widget values so a dashboard can paint before the
 * first event and after a {@code reset}, and {@code lastEventId} — the stream position taken <em>before</em> reading,
 * so opening {@code /stream/updates?lastEventId=<it>} afterwards misses nothing.
 *
 * <p>Snapshot and live stream agree: the job publishes an update to Redis as soon as a window fires, but ClickHouse
 * holds it only after the next checkpoint commits, so {@code metric_windows FINAL} alone is up to a checkpoint behind
 * the resume id. Each (metric, window size) therefore shows whichever is newer — by window start, then version — of
 * the latest ClickHouse row and the latest update in the company's stream up to {@code lastEventId} (newest
 * {@link #SCAN_LIMIT} entries, i.e. far more than a checkpoint interval of updates). A client that applies the snapshot and then the
 * stream after {@code lastEventId} is never left on a value older than ClickHouse or Redis holds (values are
 * absolute and versioned, so a repeat is harmless). Journeys: the latest {@code journey_flag_updated} per flag from
 * the same scan.
 */
public record SnapshotService(JwtVerifier jwt, RateLimiter limits, StreamHub hub, UnifiedJedis redis, ClickHouseAccess clickHouse,
                              Clock clock) implements HttpService {
    static final int SCAN_LIMIT = 20_000;
    private static final int PAGE = 1_000;

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::snapshot);
    }

    private void snapshot(ServerRequest req, ServerResponse res) {
        String companyId = ChargedCall.of(req, jwt, limits).companyId(); // before Redis and ClickHouse are read (100-400 ms of work per call)
        String generatedAt = clock.instant().toString();
        String key = hub.keyOf(companyId);
        Optional<StreamEntryID> last;
        RecentUpdates recent;
        try {
            last = hub.lastIdOf(companyId);
            recent = last.isPresent() ? recentUpdates(key, last.get()) : new RecentUpdates();
        } catch (JedisException e) {
            throw ApiError.unavailable("redis_unavailable", "Redis", e);
        }
        List<Map<String, Object>> metrics;
        Map<String, List<Map<String, Object>>> history;
        try {
            metrics = newest(latestWindows(companyId), recent.metrics);
            history = minuteHistory(companyId);
        } catch (ClickHouseAccessException e) {
            throw ApiError.fromClickHouse(e);
        }
        JsonResponses.send(res, new Snapshot(companyId, generatedAt, last.map(Object::toString).orElse(null), metrics, history,
                new ArrayList<>(recent.journeys.values())));
    }

    /** The answer: the newest figures, the last hour's minutes and the journeys, and the stream entry they go up to. */
    public record Snapshot(String companyId, String generatedAt, String lastEventId, List<Map<String, Object>> metrics,
                    Map<String, List<Map<String, Object>>> history, List<JsonNode> journeys) {
    }

    /** Minutes of history a snapshot carries per metric, for the dashboard's sparklines. */
    static final int HISTORY_MINUTES = 60;

    /**
     * Per metric, its 1-minute windows of the last {@value #HISTORY_MINUTES} minutes, oldest first:
     * {@code {metric: [{windowStart, avg, count}]}}. The live updates then move the sparklines on.
     */
    private Map<String, List<Map<String, Object>>> minuteHistory(String companyId) {
        long since = clock.instant().getEpochSecond() - HISTORY_MINUTES * 60L;
        String sql = "SELECT metric, toString(window_start) AS ws, avg, count FROM (SELECT metric, window_start, avg, count FROM metric_windows FINAL"
                + " WHERE company_id = " + SqlLiteral.string(companyId) + " AND window_size = '1m'"
                + " AND window_start >= toDateTime(" + since + ")) ORDER BY metric, window_start";
        Map<String, List<Map<String, Object>>> out = new TreeMap<>();
        for (JsonNode r : clickHouse.query(sql)) {
            Map<String, Object> point = new LinkedHashMap<>();
            point.put("windowStart", r.get("ws").asText().replace(' ', 'T') + "Z");
            point.put("avg", r.get("avg").asDouble());
            point.put("count", r.get("count").asLong());
            out.computeIfAbsent(r.get("metric").asText(), k -> new ArrayList<>()).add(point);
        }
        return out;
    }

    private List<Map<String, Object>> latestWindows(String companyId) {
        String sql = "SELECT metric, window_size, toString(max(window_start)) AS ws,"
                + " argMax(count, window_start) AS c_count, argMax(sum, window_start) AS c_sum, argMax(min, window_start) AS c_min,"
                + " argMax(max, window_start) AS c_max, argMax(avg, window_start) AS c_avg, argMax(p50, window_start) AS c_p50,"
                + " argMax(p75, window_start) AS c_p75, argMax(p95, window_start) AS c_p95, argMax(stddev, window_start) AS c_stddev,"
                + " argMax(version, window_start) AS c_version, argMax(final, window_start) AS c_final"
                + " FROM (SELECT * FROM metric_windows FINAL WHERE company_id = " + SqlLiteral.string(companyId) + ")"
                + " GROUP BY metric, window_size ORDER BY metric, window_size";
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode r : clickHouse.query(sql)) {
            Map<String, Object> m = new LinkedHashMap<>();
            String metric = r.get("metric").asText();
            m.put("type", UpdateType.forMetric(metric).wireName());
            m.put("companyId", companyId);
            m.put("metric", metric);
            m.put("window", r.get("window_size").asText());
            m.put("windowStart", r.get("ws").asText().replace(' ', 'T') + "Z");
            m.put("count", r.get("c_count").asLong());
            for (String f : List.of("sum", "min", "max", "avg", "p50", "p75", "p95", "stddev")) {
                m.put(f, r.get("c_" + f).asDouble());
            }
            m.put("version", r.get("c_version").asLong());
            m.put("final", r.get("c_final").asInt() == 1);
            out.add(m);
        }
        return out;
    }

    /**
     * Per (metric, window size) the ClickHouse row or the stream's update, whichever is newer by window start and then
     * version; ordered by metric and window size like the ClickHouse query.
     */
    static List<Map<String, Object>> newest(List<Map<String, Object>> fromClickHouse, Map<String, Map<String, Object>> fromStream) {
        Map<String, Map<String, Object>> byKey = new TreeMap<>();
        for (Map<String, Object> m : fromClickHouse) {
            byKey.put(windowKey(m), m);
        }
        fromStream.forEach((k, m) -> byKey.merge(k, m, (ch, st) -> isNewer(st, ch) ? st : ch));
        return new ArrayList<>(byKey.values());
    }

    private static String windowKey(Map<String, Object> m) {
        return m.get("metric") + "\u0000" + m.get("window");
    }

    /** {@code a} is a later window, or the same window at a higher version. */
    static boolean isNewer(Map<String, Object> a, Map<String, Object> b) {
        int byStart = Instant.parse(String.valueOf(a.get("windowStart"))).compareTo(Instant.parse(String.valueOf(b.get("windowStart"))));
        if (byStart != 0) {
            return byStart > 0;
        }
        return ((Number) a.get("version")).longValue() > ((Number) b.get("version")).longValue();
    }

    /** What one backwards scan of the company's stream (from {@code upTo}, inclusive) found. */
    private static final class RecentUpdates {
        final Map<String, Map<String, Object>> metrics = new HashMap<>();
        final Map<String, JsonNode> journeys = new TreeMap<>();
    }

    /**
     * Newest metric update per (metric, window size) and newest {@code journey_flag_updated} per flag, scanning the
     * stream backwards from {@code upTo} (bounded by {@link #SCAN_LIMIT} entries).
     */
    private RecentUpdates recentUpdates(String key, StreamEntryID upTo) {
        RecentUpdates out = new RecentUpdates();
        String end = upTo.toString();
        int scanned = 0;
        while (scanned < SCAN_LIMIT) {
            List<StreamEntry> page = redis.xrevrange(key, end, "-", PAGE);
            for (StreamEntry e : page) {
                take(out, e.getFields().get(RedisStreams.FIELD_TYPE), e.getFields().get(RedisStreams.FIELD_DATA));
            }
            scanned += page.size();
            if (page.size() < PAGE) {
                break;
            }
            end = "(" + page.get(page.size() - 1).getID();
        }
        return out;
    }

    private static void take(RecentUpdates out, String type, String data) {
        if (type == null || data == null) {
            return;
        }
        JsonNode node;
        try {
            node = Json.mapper().readTree(data);
        } catch (Exception ignored) {
            return; // not valid JSON: the SSE side skips it too
        }
        if (UpdateType.JOURNEY_FLAG_UPDATED.wireName().equals(type)) {
            String flag = node.path("flag").asText("");
            if (!flag.isEmpty()) {
                out.journeys.putIfAbsent(flag, node); // scanning newest first: the first seen is the newest
            }
            return;
        }
        if (!node.path("metric").isTextual() || !node.path("window").isTextual() || !node.path("version").canConvertToLong()) {
            return;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        node.fields().forEachRemaining(f -> m.put(f.getKey(), Json.mapper().convertValue(f.getValue(), Object.class)));
        try {
            Instant.parse(String.valueOf(m.get("windowStart")));
        } catch (RuntimeException bad) {
            return;
        }
        out.metrics.merge(windowKey(m), m, (seen, older) -> isNewer(older, seen) ? older : seen);
    }
}
