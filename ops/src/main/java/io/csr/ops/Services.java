package io.csr.ops;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import redis.clients.jedis.Jedis;

import java.net.URI;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Probes each service: up or down, where, which version, how long it took to answer. */
final class Services {
    record Probe(String name, boolean up, String address, String version, long millis, String detail) {
    }

    private Services() {
    }

    static List<Probe> probeAll(CsrConfig config) {
        List<Probe> out = new ArrayList<>();
        out.add(probeNats(config));
        out.add(probeRedis(config));
        out.add(probePostgres(config));
        out.add(probeClickHouse(config));
        return out;
    }

    static Probe probeNats(CsrConfig config) {
        String url = config.get(ConfigKey.NATS_URL);
        long start = System.nanoTime();
        try (Connection nc = Nats.connect(new Options.Builder().server(url).connectionTimeout(Duration.ofSeconds(3))
                .maxReconnects(0).noReconnect().build())) {
            String js = nc.getServerInfo().isJetStreamAvailable() ? "JetStream on" : "JetStream OFF (start nats-server with -js)";
            return new Probe("nats", nc.getServerInfo().isJetStreamAvailable(), url, nc.getServerInfo().getVersion(), ms(start), js);
        } catch (Exception e) {
            return new Probe("nats", false, url, "", ms(start), reason(e));
        }
    }

    static Probe probeRedis(CsrConfig config) {
        String url = config.get(ConfigKey.REDIS_URL);
        long start = System.nanoTime();
        try {
            io.csr.common.redis.RedisEndpoint endpoint = io.csr.common.redis.RedisEndpoint.parse(url);
            if (endpoint.mode() != io.csr.common.redis.RedisEndpoint.Mode.STANDALONE) {
                // a Redis Cluster or Sentinel: the first seed that answers tells the version
                Exception last = null;
                for (redis.clients.jedis.HostAndPort node : endpoint.nodes()) {
                    try (Jedis jedis = new Jedis(node.getHost(), node.getPort(), 3_000)) {
                        return new Probe("redis", true, endpoint.redacted(), version(jedis), ms(start),
                                endpoint.mode().name().toLowerCase(java.util.Locale.ROOT) + " via " + node);
                    } catch (Exception e) {
                        last = e;
                    }
                }
                throw last;
            }
        } catch (Exception e) {
            return new Probe("redis", false, url, "", ms(start), reason(e));
        }
        try (Jedis jedis = new Jedis(URI.create(url), 3_000)) {
            return new Probe("redis", true, url, version(jedis), ms(start), "");
        } catch (Exception e) {
            return new Probe("redis", false, url, "", ms(start), reason(e));
        }
    }

    private static String version(Jedis jedis) {
        return jedis.info("server").lines().filter(l -> l.startsWith("redis_version:")).map(l -> l.substring(14).strip())
                .findFirst().orElse("?");
    }

    static Probe probePostgres(CsrConfig config) {
        PostgresSettings pg = PostgresSettings.from(config);
        long start = System.nanoTime();
        try (java.sql.Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return new Probe("postgres", true, pg.url(), rs.getString(1), ms(start), "schema " + pg.schema());
        } catch (Exception e) {
            return new Probe("postgres", false, pg.url(), "", ms(start), reason(e));
        }
    }

    static Probe probeClickHouse(CsrConfig config) {
        ClickHouseSettings settings = ClickHouseSettings.from(config);
        long start = System.nanoTime();
        try (ClickHouseAccess ch = ClickHouseAccess.open(settings)) {
            if (!ch.ping()) {
                return new Probe("clickhouse", false, settings.url(), "", ms(start), "no answer to /ping");
            }
            return new Probe("clickhouse", true, settings.url(), ch.serverVersion(), ms(start), "database " + settings.database());
        } catch (Exception e) {
            return new Probe("clickhouse", false, settings.url(), "", ms(start), reason(e));
        }
    }

    private static long ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static String reason(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
