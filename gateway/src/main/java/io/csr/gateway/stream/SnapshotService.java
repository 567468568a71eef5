package io.csr.gateway.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.common.contract.RedisStreams;
import io.csr.common.contract.UpdateType;
import io.csr.common.json.Json;
import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.resps.StreamEntry;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /stream/snapshot[?companyId=]}: the company's current widget values so a dashboard can paint before the
 * first event and after a {@code reset}: the latest window per (metric, window size) from ClickHouse
 * ({@code metric_windows FINAL}), the latest {@code journey_flag_updated} per flag from the company's update stream
 * (last 24 h), and {@code lastEventId} — the stream position taken <em>before</em> reading, so opening
 * {@code /stream/updates?lastEventId=<it>} afterwards misses nothing (values are absolute, a repeat is harmless).
 */
public final class SnapshotService implements HttpService {
    static final int JOURNEY_SCAN_LIMIT = 20_000;
    private static final int PAGE = 1_000;

    private final JwtVerifier jwt;
    private final StreamHub hub;
    private final JedisPool redis;
    private final ClickHouseAccess clickHouse;
    private final Clock clock;

    public SnapshotService(JwtVerifier jwt, StreamHub hub, JedisPool redis, ClickHouseAccess clickHouse, Clock clock) {
        this.jwt = jwt;
        this.hub = hub;
        this.redis = redis;
        this.clickHouse = clickHouse;
        this.clock = clock;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::snapshot);
    }

    private void snapshot(ServerRequest req, ServerResponse res) {
        try {
            Principal p = jwt.authenticate(req);
            String companyId = CompanyScope.resolve(p, req);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("companyId", companyId);
            body.put("generatedAt", clock.instant().toString());
            String key = hub.keyOf(companyId);
            List<JsonNode> journeys;
            try {
                body.put("lastEventId", hub.lastIdOf(companyId).map(Object::toString).orElse(null));
                journeys = latestJourneys(key);
            } catch (JedisException e) {
                throw new ApiError(503, "redis_unavailable", "Redis cannot be reached for the snapshot: " + e.getMessage() + "; retry shortly", 5);
            }
            try {
                body.put("metrics", latestWindows(companyId));
            } catch (ClickHouseAccessException e) {
                throw new ApiError(503, "clickhouse_unavailable", "ClickHouse cannot be read for the snapshot: " + e.getMessage(), 5);
            }
            body.put("journeys", journeys);
            JsonResponses.send(res, body);
        } catch (ApiError e) {
            e.send(res);
        }
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

    /** Newest journey_flag_updated per flag, scanning the stream backwards (bounded by {@link #JOURNEY_SCAN_LIMIT}). */
    private List<JsonNode> latestJourneys(String key) {
        Map<String, JsonNode> byFlag = new TreeMap<>();
        String end = "+";
        int scanned = 0;
        try (Jedis j = redis.getResource()) {
            while (scanned < JOURNEY_SCAN_LIMIT) {
                List<StreamEntry> page = j.xrevrange(key, end, "-", PAGE);
                for (StreamEntry e : page) {
                    if (UpdateType.JOURNEY_FLAG_UPDATED.wireName().equals(e.getFields().get(RedisStreams.FIELD_TYPE))) {
                        try {
                            JsonNode data = Json.mapper().readTree(e.getFields().get(RedisStreams.FIELD_DATA));
                            String flag = data.path("flag").asText("");
                            if (!flag.isEmpty()) {
                                byFlag.putIfAbsent(flag, data);
                            }
                        } catch (Exception ignored) {
                            // not valid JSON: the SSE side skips it too
                        }
                    }
                }
                scanned += page.size();
                if (page.size() < PAGE) {
                    break;
                }
                end = "(" + page.get(page.size() - 1).getID();
            }
        }
        return new ArrayList<>(byFlag.values());
    }
}
