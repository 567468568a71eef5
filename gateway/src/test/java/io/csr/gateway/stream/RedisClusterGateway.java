package io.csr.gateway.stream;

import io.csr.common.config.ConfigKey;
import io.csr.common.redis.LocalRedisCluster;
import io.csr.common.redis.RedisEndpoint;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.SseTestClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XAddParams;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;

/**
 * A gateway on a local Redis Cluster of three masters (own processes, own loopback ports, node timeout 1 s) with
 * {@code STREAM_READERS=2}, and a cluster client that writes updates into the gateway's namespace. The Redis Cluster
 * ITCases share it; {@link #close()} stops the gateway, the client and the cluster and deletes its data directory.
 */
record RedisClusterGateway(LocalRedisCluster cluster, GatewayFixture fx, UnifiedJedis writer) implements AutoCloseable {
    /** {@code replicas} per master; {@code overrides} on top of the cluster's URL and two stream readers. */
    static RedisClusterGateway start(int replicas, Map<String, String> overrides) throws Exception {
        LocalRedisCluster cluster = LocalRedisCluster.onFreePorts(Files.createTempDirectory("csr-redis-cluster-it"), 3, replicas, 1_000);
        GatewayFixture fx = null;
        try {
            cluster.start();
            Map<String, String> values = new HashMap<>(Map.of(ConfigKey.REDIS_URL.name(), cluster.url(),
                    ConfigKey.STREAM_READERS.name(), "2"));
            values.putAll(overrides);
            fx = new GatewayFixture(values);
            return new RedisClusterGateway(cluster, fx, RedisEndpoint.parse(cluster.url()).open("it-writer", 2_000, 4));
        } catch (Exception | Error e) {
            if (fx != null) {
                fx.close();
            }
            cluster.close();
            throw e;
        }
    }

    /** One {@code metric_updated} entry of {@code version} on {@code company}'s stream (one XADD, errors thrown). */
    StreamEntryID publish(String company, int version) {
        return writer.xadd(fx.key(company), XAddParams.xAddParams(), Traffic.update(company, version));
    }

    /** An SSE client of {@code company}'s updates, with an optional query ({@code lastEventId=…}) or null. */
    SseTestClient open(String company, String query) {
        return SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(company), query));
    }

    @Override
    public void close() throws IOException {
        try {
            fx.close();
        } finally {
            try {
                writer.close();
            } finally {
                cluster.close();
            }
        }
    }
}
