package io.csr.gateway.cluster;

import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code GET /cluster/stats}: the whole cluster's streams in one call, whichever node answers — connections and
 * deliveries summed over every live node (each publishes its figures to Redis, {@link NodeFigures}), with each node's
 * own figures beside. Operators only (it names every company and node); per-node figures stay at {@code /stream/stats}
 * and {@code /metrics}.
 */
public record ClusterStatsService(JwtVerifier jwt, UnifiedJedis redis, String keyPrefix, NodeFigures self, Clock clock)
        implements HttpService {

    @Override
    public void routing(HttpRules rules) {
        rules.get("/stats", this::stats);
    }

    private void stats(ServerRequest req, ServerResponse res) {
        Principal p = jwt.authenticate(req);
        if (!p.isOperator()) {
            throw new ApiError(403, "operator_required", "the cluster's figures name every company and node: they need a token with role operator"
                    + " (mint one with bin/csr token --operator); a company's admin sees its own at /stream/stats");
        }
        self.publishOnce(); // this node's figures as of now, not of up to PERIOD ago
        Map<String, Object> body;
        try {
            body = new LinkedHashMap<>(NodeFigures.read(redis, keyPrefix, clock.millis()));
        } catch (JedisException e) {
            throw ApiError.unavailable("redis_unavailable", "Redis (where every node publishes its figures)", e);
        }
        body.put("answeredBy", self.nodeId());
        body.put("nodeTtlSeconds", NodeFigures.TTL.toSeconds());
        JsonResponses.send(res, body);
    }
}
