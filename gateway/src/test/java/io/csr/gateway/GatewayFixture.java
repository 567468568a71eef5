package io.csr.gateway;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.common.redis.RedisKeys;
import io.helidon.webserver.WebServer;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XAddParams;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A gateway on a random port against the real Redis/PostgreSQL/ClickHouse, in its own namespace: Redis key prefix
 * {@code it_<random>:}, PostgreSQL schema {@code it_<random>} (migrated), ClickHouse database name
 * {@code csr_it_<random>} (created, migrated, by {@link #clickHouse()} for tests that need it). {@link #close()} removes all
 * of it.
 */
public final class GatewayFixture implements AutoCloseable {
    public static final String SECRET = "test-secret-of-at-least-thirty-two-bytes-0123456789";
    /** HTTP/1.1, what the gateway speaks (no h2c upgrade offered). */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public final String ns = "it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    public final String prefix = ns + ":";
    public final CsrConfig config;
    public final GatewaySettings settings;
    public final Gateway gateway;
    public final WebServer server;
    public final TestTokens tokens = new TestTokens(SECRET);
    public final Jedis redis;
    private final PostgresSettings pg;
    private ClickHouseAccess clickHouse;

    public GatewayFixture(Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>();
        values.put(ConfigKey.GATEWAY_PORT.name(), "0");
        values.put(ConfigKey.JWT_SECRET.name(), SECRET);
        values.put(ConfigKey.REDIS_KEY_PREFIX.name(), prefix);
        values.put(ConfigKey.POSTGRES_SCHEMA.name(), ns);
        values.put(ConfigKey.CLICKHOUSE_DATABASE.name(), "csr_" + ns);
        values.put(ConfigKey.FEATURE_FLAG_REFRESH_SECONDS.name(), "1");
        // the per-cohort monthly rows only where a test computes them (they turn exact quantiles into 0.5 % bins)
        values.put(ConfigKey.COHORT_MONTH_REFRESH_SECONDS.name(), "0");
        values.putAll(overrides);
        this.config = CsrConfig.fromEnvironment().with(values);
        this.settings = GatewaySettings.from(config);
        this.pg = PostgresSettings.from(config);
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        // the test's own client always talks to the real Redis, even when the gateway is pointed elsewhere
        this.redis = new Jedis(java.net.URI.create(CsrConfig.fromEnvironment().get(ConfigKey.REDIS_URL)));
        this.gateway = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(config)), pg, Clock.systemUTC());
        this.server = Main.server(settings, gateway).build().start();
    }

    /**
     * A client on the fixture's own ClickHouse database, which the first call creates and migrates; {@link #close()}
     * drops the database and closes the client.
     */
    public synchronized ClickHouseAccess clickHouse() {
        if (clickHouse == null) {
            ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config));
            ch.createDatabaseIfMissing();
            Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
            clickHouse = ch;
        }
        return clickHouse;
    }

    public String base() {
        return (settings.tlsEnabled() ? "https" : "http") + "://127.0.0.1:" + server.port();
    }

    /**
     * {@code method path} on this gateway: the token as bearer and the body with its content type, each left out when
     * null; answered within 20 s.
     */
    public HttpResponse<String> send(String method, String path, String bearer, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code method path} with a JSON body (none when null). */
    public HttpResponse<String> sendJson(String method, String path, String bearer, String json) throws Exception {
        return send(method, path, bearer, json == null ? null : "application/json", json);
    }

    /** {@code GET path} with the token as bearer (none when null). */
    public HttpResponse<String> get(String path, String bearer) throws Exception {
        return send("GET", path, bearer, null, null);
    }

    public String updatesUrl(String token, String query) {
        return base() + "/stream/updates?access_token=" + token + (query == null || query.isEmpty() ? "" : "&" + query);
    }

    public String key(String companyId) {
        return RedisStreams.updatesKey(prefix, companyId);
    }

    /** XADD a Contract 3 metric update the way the job does; returns the entry id. */
    public StreamEntryID publishMetric(String companyId, String metric, long version) {
        String data = "{\"companyId\":\"" + companyId + "\",\"metric\":\"" + metric + "\",\"window\":\"1m\",\"windowStart\":\"2026-11-27T10:00:00Z\","
                + "\"count\":" + version + ",\"sum\":1.0,\"min\":1.0,\"max\":1.0,\"avg\":1.0,\"p50\":1.0,\"p75\":1.0,\"p95\":1.0,"
                + "\"stddev\":0.0,\"version\":" + version + ",\"final\":false}";
        return xadd(companyId, "metric_updated", data);
    }

    public StreamEntryID xadd(String companyId, String type, String data) {
        return redis.xadd(key(companyId), XAddParams.xAddParams(), Map.of(RedisStreams.FIELD_TYPE, type, RedisStreams.FIELD_DATA, data));
    }

    public void setStreamingFlag(String companyId, boolean enabled) throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO feature_flags (company_id, flag, enabled) VALUES ('" + companyId + "', 'streaming', " + enabled
                    + ") ON CONFLICT (company_id, flag) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()");
        }
    }

    public List<String> idsOf(List<StreamEntryID> ids) {
        return ids.stream().map(Object::toString).toList();
    }

    @Override
    public void close() {
        try {
            gateway.drainStreams(2_000);
            server.stop();
        } finally {
            gateway.close();
            RedisKeys.deleteUnder(redis, prefix);
            redis.close();
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS " + ns + " CASCADE");
            } catch (Exception e) {
                System.err.println("could not drop test schema " + ns + ": " + e.getMessage());
            }
            synchronized (this) {
                if (clickHouse != null) {
                    try {
                        clickHouse.dropDatabase();
                    } finally {
                        clickHouse.close();
                    }
                }
            }
        }
    }
}
