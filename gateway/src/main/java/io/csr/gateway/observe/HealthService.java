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
import redis.clients.jedis.Protocol;
import redis.clients.jedis.UnifiedJedis;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Health for people and for load balancers, every probe on a pooled connection (no new connection per probe):
 * <ul>
 * <li>{@code GET /health}: ClickHouse, Redis and PostgreSQL, each with its status and round-trip latency; 503 when one
 * is down. Callers at the same moment share one probe ({@link #sharedProbe}). Reports (e.g. the analytics views' last refresh) are shown under {@code checks} too but do not decide the
 * status. For people and monitoring: a load balancer must not use it (one PostgreSQL blip would take every node out).
 * <li>{@code GET /health/live}: the process serves HTTP (always 200 while it does); restart the node when it fails.
 * <li>{@code GET /health/ready}: the node can serve streams — Redis answers and every tail reader is healthy — and is
 * not draining; 503 otherwise. What a load balancer checks. PostgreSQL and ClickHouse do not decide it: while they are
 * down the REST endpoints that need them answer 503 themselves and streams keep flowing.
 * </ul>
 */
public final class HealthService implements HttpService {
    private static final Logger LOG = Logger.getLogger(HealthService.class.getName());
    private final ClickHouseAccess clickHouse;
    private final UnifiedJedis redis;
    private final FeatureFlags postgres;
    private final Map<String, Supplier<Map<String, Object>>> reports;
    private final Readiness readiness;
    /** The probe of {@code /health} running now, if one is (guarded by {@code this}). */
    private CompletableFuture<Probe> inFlight;

    /** What {@code /health/ready} asks of the stream side besides Redis. */
    public interface Readiness {
        /** Every tail reader is reading. */
        boolean readersHealthy();

        /** The node was told to stop (SIGTERM) and takes no new streams. */
        boolean draining();
    }

    public HealthService(ClickHouseAccess clickHouse, UnifiedJedis redis, FeatureFlags postgres) {
        this(clickHouse, redis, postgres, Map.of(), new Readiness() {
            @Override
            public boolean readersHealthy() {
                return true;
            }

            @Override
            public boolean draining() {
                return false;
            }
        });
    }

    /** With reports: name → a supplier of one check-shaped map ({@code status}, …) shown but not deciding the status. */
    public HealthService(ClickHouseAccess clickHouse, UnifiedJedis redis, FeatureFlags postgres, Map<String, Supplier<Map<String, Object>>> reports,
                         Readiness readiness) {
        this.clickHouse = clickHouse;
        this.redis = redis;
        this.postgres = postgres;
        this.reports = Map.copyOf(reports);
        this.readiness = readiness;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::health)
                .get("/live", this::live)
                .get("/ready", this::ready);
    }

    private void live(ServerRequest req, ServerResponse res) {
        JsonResponses.send(res, Map.of("status", "UP"));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("redis", check("redis", () -> ping(redis)));
        boolean readers = readiness.readersHealthy();
        checks.put("readers", Map.of("status", readers ? "UP" : "DOWN"));
        boolean draining = readiness.draining();
        checks.put("draining", draining);
        boolean up = !draining && readers && "UP".equals(((Map<?, ?>) checks.get("redis")).get("status"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : draining ? "DRAINING" : "DOWN");
        body.put("checks", checks);
        res.status(up ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        JsonResponses.send(res, body);
    }

    private void health(ServerRequest req, ServerResponse res) {
        Probe probe = sharedProbe();
        res.status(probe.up() ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        JsonResponses.send(res, probe.body());
    }

    /** What one probe of the stores found. */
    private record Probe(boolean up, Map<String, Object> body) {
    }

    /**
     * One probe of the stores at a time: a caller arriving while one runs waits for it and gets its answer. /health
     * needs no token, so however often it is called it holds at most one pooled PostgreSQL connection (and one
     * ClickHouse and Redis round trip at a time) and cannot take the pool from the API's callers.
     */
    private Probe sharedProbe() {
        CompletableFuture<Probe> flight;
        boolean mine;
        synchronized (this) {
            mine = inFlight == null;
            if (mine) {
                inFlight = new CompletableFuture<>();
            }
            flight = inFlight;
        }
        if (mine) {
            try {
                flight.complete(probe());
            } catch (RuntimeException | Error e) {
                flight.completeExceptionally(e);
                throw e;
            } finally {
                synchronized (this) {
                    inFlight = null;
                }
            }
        }
        return flight.join();
    }

    private Probe probe() {
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("clickhouse", check("clickhouse", () -> {
            if (!clickHouse.ping()) {
                throw new IllegalStateException("no answer to /ping at " + clickHouse.settings().url());
            }
            return null;
        }));
        checks.put("redis", check("redis", () -> {
            return ping(redis);
        }));
        checks.put("postgres", check("postgres", () -> {
            postgres.ping();
            return null;
        }));
        boolean up = checks.values().stream().allMatch(c -> "UP".equals(((Map<?, ?>) c).get("status")));
        reports.forEach((name, report) -> checks.put(name, report.get()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("checks", checks);
        return new Probe(up, body);
    }

    /** Sent as a key's command, so a Redis Cluster client routes it to that key's master and follows a failover. */
    static final byte[] PROBE_KEY = "csr:health".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    /**
     * PING as a keyed command: one node answers (a Redis Cluster's master of {@link #PROBE_KEY}'s slot, found through
     * redirections and failovers like any command's). Not {@code UnifiedJedis.ping()}: on a cluster client that
     * broadcasts to every master in the client's cache (Jedis 7.2: {@code getPrimaryNodesConnectionMap}), and after one
     * master was killed, failed over and restarted as a replica it failed on every call for the rest of the run, on
     * every gateway at once (found by {@code csr soak --topology ha}: HAProxy had no ready gateway left).
     */
    static Object ping(UnifiedJedis redis) {
        return redis.sendCommand(PROBE_KEY, Protocol.Command.PING);
    }

    private static Map<String, Object> check(String name, Callable<?> probe) {
        long t0 = System.nanoTime();
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            probe.call();
            m.put("status", "UP");
        } catch (Exception e) {
            // the driver's text stays in the log: /health is open to everyone
            LOG.log(Level.WARNING, "health check " + name + " failed", e);
            m.put("status", "DOWN");
            m.put("error", name + " did not answer the probe (details in the gateway log)");
        }
        m.put("latencyMs", Math.round((System.nanoTime() - t0) / 10_000.0) / 100.0);
        return m;
    }
}
