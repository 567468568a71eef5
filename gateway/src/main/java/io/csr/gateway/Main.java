package io.csr.gateway;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigException;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.analytics.AnalyticsReader;
import io.csr.gateway.analytics.AnalyticsService;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.WhoAmIService;
import io.csr.gateway.cluster.ClusterStatsService;
import io.csr.gateway.http.RequestGuard;
import io.csr.gateway.observe.HealthService;
import io.csr.gateway.observe.MetricsService;
import io.csr.gateway.openapi.OpenApiService;
import io.csr.gateway.participants.ParticipantStore;
import io.csr.gateway.participants.ParticipantsService;
import io.csr.gateway.stream.SnapshotService;
import io.csr.gateway.stream.StreamService;
import io.csr.gateway.stream.direct.DirectStreams;
import io.csr.gateway.stream.direct.RequestPhase;
import io.csr.gateway.web.ConnectionCloseFilter;
import io.csr.gateway.web.SecurityHeaders;
import io.helidon.common.tls.Tls;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.staticcontent.StaticContentService;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The gateway process: reads configuration once ({@code application.yaml} defaults, overridden by environment
 * variables of the same {@link ConfigKey} names), builds the clients and the {@link Gateway}, starts the web server and
 * ends streams cleanly on shutdown.
 */
public final class Main {
    static final int WRITE_BUFFER_BYTES = 512;
    /** How often Helidon looks for connections past their read or idle timeout (a look is cheap: one call per connection). */
    static final Duration IDLE_CHECK_PERIOD = Duration.ofSeconds(1);
    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        GatewaySettings settings;
        Gateway gateway;
        WebServer server;
        try {
            CsrConfig config = loadConfig();
            settings = GatewaySettings.from(config);
            gateway = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(config)),
                    PostgresSettings.from(config), Clock.systemUTC());
            server = server(settings, gateway).build().start();
        } catch (ConfigException | IllegalArgumentException e) {
            // a configuration mistake: one line naming the value and the fix (bin/csr start shows it), not a stack trace
            System.err.println("error [gateway]: " + e.getMessage());
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> drain(settings.drainGrace(), server, gateway), "csr-gateway-shutdown"));
        System.out.println("csr gateway listening on " + (settings.tlsEnabled() ? "https" : "http") + "://"
                + settings.host() + ":" + server.port() + " (streams: /stream/updates, health: /health, /health/ready, /health/live, metrics: /metrics, cluster: /cluster/stats, API description: /openapi)");
    }

    /**
     * SIGTERM: stop taking streams ({@code /health/ready} 503 at once, new streams 503 {@code draining}), end every open
     * stream with {@code event: close} and a jittered {@code retry} so its client resumes on another node by
     * {@code Last-Event-ID}, wait for them, stop the listener and close the clients — and be gone within
     * {@code GATEWAY_DRAIN_SECONDS} whatever still runs: a watchdog halts the process at the end of the grace period.
     */
    static void drain(Duration grace, WebServer server, Gateway gateway) {
        long t0 = System.nanoTime();
        Thread.ofPlatform().daemon().name("csr-gateway-drain-watchdog").start(() -> {
            try {
                Thread.sleep(grace.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("csr gateway: not stopped within GATEWAY_DRAIN_SECONDS=" + grace.toSeconds() + "; halting");
            Runtime.getRuntime().halt(143);
        });
        // streams get most of the grace period; the listener's stop and the clients' close the rest
        long streamsMillis = Math.max(500, grace.toMillis() - 3_000);
        gateway.drainStreams(streamsMillis);
        server.stop();
        gateway.close();
        System.err.println("csr gateway: drained and stopped in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    /** The web server of a gateway: listener from the settings (TLS when a keystore is set) and {@link #routing}. */
    public static WebServerConfig.Builder server(GatewaySettings settings, Gateway gateway) {
        WebServerConfig.Builder b = WebServer.builder()
                .host(settings.host())
                .port(settings.port())
                .shutdownGracePeriod(Duration.ofSeconds(2))
                // frames are a few hundred bytes and flushed per drain: a small write buffer saves ~3.5 KiB per idle stream
                .writeBufferSize(WRITE_BUFFER_BYTES)
                // blocking sockets: Helidon's NIO socket keeps an 8 KiB read and an 8 KiB write buffer per connection, the
                // blocking one only the read buffer (each flush is already one contiguous write); 32.0 → 24.0 KiB heap
                // per idle stream at 5,000 streams
                .useNio(false)
                // at most this many connections; more wait in the accept backlog (streams have their own, lower limits)
                .maxTcpConnections(settings.connections().maxConnections())
                // a connection waiting for its client this long is closed: DirectStreamConnection.idleTime() says when
                .idleConnectionTimeout(settings.connections().idleTimeout())
                .idleConnectionPeriod(IDLE_CHECK_PERIOD)
                .routing(r -> routing(r, gateway))
                // the listener's only connection selector, in place of the discovered HTTP/1 one (which it hands everything
                // else to): it reads each connection's first head under GATEWAY_READ_TIMEOUT_SECONDS and serves a stream on
                // its connection when STREAM_DIRECT_CONNECTIONS is on. With two selectors, Helidon would sniff each
                // connection's first bytes and drop a request line longer than HTTP/1's prologue limit instead of answering 414
                .protocolsDiscoverServices(false)
                .addConnectionSelector(new DirectStreams(Http1Config.create(), streams(gateway), gateway.cors(), gateway.metrics(),
                        settings.directStreams(), settings.connections().readTimeout(), settings.connections().idleTimeout()));
        if (settings.tlsEnabled()) {
            b.tls(Tls.builder().sslContext(sslContext(settings)).build());
        }
        return b;
    }

    /** Every route of the gateway; tests build their servers with this. */
    public static void routing(HttpRouting.Builder routing, Gateway g) {
        routing.addFilter(new RequestPhase()) // outermost: tells the connection a request is being handled (idle check)
                .addFilter(new ConnectionCloseFilter()) // ends the connection once a Connection: close answer is sent
                // then: a request id on every answer, well-formed UTF-8 path and query, no exception text in a body
                .addFilter(new RequestGuard())
                .error(Exception.class, RequestGuard::failed)
                .addFilter(new SecurityHeaders()) // CSP, no framing, nosniff, no referrer on every answer
                .addFilter(g.cors()) // CORS headers on every answer, preflight answered before any route
                .register("/auth", new WhoAmIService(g.jwt()))
                .register("/stream/snapshot", new SnapshotService(g.jwt(), g.apiLimits(), g.hub(), g.redis(), g.clickHouse(), g.clock()))
                .register("/stream", streams(g))
                .register("/health", new HealthService(g.clickHouse(), g.redis(), g.flags(),
                        Map.of("analyticsViews", g.analyticsStatus()::healthReport), g.readiness()))
                .register("/cluster", new ClusterStatsService(g.jwt(), g.redis(), g.settings().redisKeyPrefix(), g.figures(), g.clock()))
                .register("/analytics", new AnalyticsService(g.jwt(), g.apiLimits(), new AnalyticsReader(g.postgresPool())))
                .register(new ParticipantsService(g.jwt(), g.apiLimits(), new ParticipantStore(g.postgresPool()), g.bodies(),
                        g.cohorts()::participantsChanged))
                .register("/openapi", new OpenApiService())
                .register("/metrics", new MetricsService(g.metrics(), req -> JwtVerifier.hasToken(req) && g.jwt().authenticate(req).isOperator()))
                .register("/cohorts", g.cohorts().management())
                .register("/cohort", g.cohorts().analytics())
                .register("/", StaticContentService.builder("web").welcomeFileName("index.html").build())
                .any(RequestGuard::notFound); // last: what nothing above answered is a JSON 404 with the request id
    }

    /** {@code /stream}; holds no state of its own (that is the gateway's), so routing and direct streams may each have one. */
    static StreamService streams(Gateway g) {
        return new StreamService(g.settings().stream(), g.jwt(), g.hub(), g.flags(), g.limits(), g.metrics(), g.clock());
    }

    /** {@code application.yaml} (section {@code csr}) under environment variables / system properties of the same names. */
    static CsrConfig loadConfig() {
        return loadConfig(name -> System.getProperty(name, System.getenv(name)));
    }

    /** application.yaml under what {@code environment} gives for a ConfigKey name (null: not set). */
    static CsrConfig loadConfig(UnaryOperator<String> environment) {
        Config yaml = Config.just(ConfigSources.classpath("application.yaml").optional());
        Map<String, String> values = new HashMap<>();
        Map<String, String> overrides = new HashMap<>();
        for (ConfigKey key : ConfigKey.values()) {
            yaml.get("csr").get(key.name()).asString().ifPresent(v -> values.put(key.name(), v));
            String v = environment.apply(key.name());
            if (v != null) {
                overrides.put(key.name(), v);
            }
        }
        return CsrConfig.of(values).with(overrides);
    }

    static SSLContext sslContext(GatewaySettings settings) {
        Path path = Path.of(settings.tlsKeystore());
        char[] password = settings.tlsKeystorePassword().toCharArray();
        try (InputStream in = Files.newInputStream(path)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalArgumentException("GATEWAY_TLS_KEYSTORE=" + path + " cannot be used as a PKCS12 keystore with GATEWAY_TLS_KEYSTORE_PASSWORD: "
                    + e.getMessage() + " (create one with: keytool -genkeypair -keyalg RSA -storetype PKCS12 -keystore gateway.p12 ...)", e);
        }
    }
}
