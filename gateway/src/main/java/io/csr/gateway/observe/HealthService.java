package io.csr.gateway.observe;

import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.stream.FeatureFlags;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code GET /health}: ClickHouse, Redis and PostgreSQL, each with its status and round-trip latency; 503 when one is
 * down. Reports (e.g. the analytics views' last refresh) are shown under {@code checks} too but do not decide the
 * status: stale dashboard figures must not take a gateway that serves streams out of a load balancer.
 */
public final class HealthService implements HttpService {
    private final ClickHouseAccess clickHouse;
    private final JedisPool redis;
    private final FeatureFlags postgres;
    private final Map<String, Supplier<Map<String, Object>>> reports;

    public HealthService(ClickHouseAccess clickHouse, JedisPool redis, FeatureFlags postgres) {
        this(clickHouse, redis, postgres, Map.of());
    }

    /** With reports: name → a supplier of one check-shaped map ({@code status}, …) shown but not deciding the status. */
    public HealthService(ClickHouseAccess clickHouse, JedisPool redis, FeatureFlags postgres, Map<String, Supplier<Map<String, Object>>> reports) {
        this.clickHouse = clickHouse;
        this.redis = redis;
        this.postgres = postgres;
        this.reports = Map.copyOf(reports);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::health);
    }

    private void health(ServerRequest req, ServerResponse res) {
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("clickhouse", check(() -> {
            if (!clickHouse.ping()) {
                throw new IllegalStateException("no answer to /ping at " + clickHouse.settings().url());
            }
            return null;
        }));
        checks.put("redis", check(() -> {
            try (Jedis j = redis.getResource()) {
                return j.ping();
            }
        }));
        checks.put("postgres", check(() -> {
            postgres.ping();
            return null;
        }));
        boolean up = checks.values().stream().allMatch(c -> "UP".equals(((Map<?, ?>) c).get("status")));
        reports.forEach((name, report) -> checks.put(name, report.get()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("checks", checks);
        res.status(up ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        JsonResponses.send(res, body);
    }

    private static Map<String, Object> check(Callable<?> probe) {
        long t0 = System.nanoTime();
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            probe.call();
            m.put("status", "UP");
        } catch (Exception e) {
            m.put("status", "DOWN");
            m.put("error", String.valueOf(e.getMessage()));
        }
        m.put("latencyMs", Math.round((System.nanoTime() - t0) / 10_000.0) / 100.0);
        return m;
    }
}
