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
import io.csr.gateway.observe.HealthService;
import io.csr.gateway.observe.MetricsService;
import io.csr.gateway.openapi.OpenApiService;
import io.csr.gateway.participants.ParticipantStore;
import io.csr.gateway.participants.ParticipantsService;
import io.csr.gateway.stream.SnapshotService;
import io.csr.gateway.stream.StreamService;
import io.csr.gateway.stream.direct.DirectStreams;
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

/**
 * The gateway process: reads configuration once ({@code application.yaml} defaults, overridden by environment
 * variables of the same {@link ConfigKey} names), builds the clients and the {@link Gateway}, starts the web server and
 * ends streams cleanly on shutdown.
 */
public final class Main {
    static final int WRITE_BUFFER_BYTES = 512;
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
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.drainStreams(5_000);
            server.stop();
            gateway.close();
        }, "csr-gateway-shutdown"));
        System.out.println("csr gateway listening on " + (settings.tlsEnabled() ? "https" : "http") + "://"
                + settings.host() + ":" + server.port() + " (streams: /stream/updates, health: /health, metrics: /metrics, API description: /openapi)");
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
                .routing(r -> routing(r, gateway));
        if (settings.directStreams()) {
            // the listener's only connection selector, in place of the discovered HTTP/1 one (which it hands everything
            // else to): with two, Helidon would sniff each connection's first bytes and drop a request line longer than
            // HTTP/1's prologue limit instead of answering 414
            b.protocolsDiscoverServices(false)
                    .addConnectionSelector(new DirectStreams(Http1Config.create(), streams(gateway), gateway.cors(), gateway.metrics()));
        }
        if (settings.tlsEnabled()) {
            b.tls(Tls.builder().sslContext(sslContext(settings)).build());
        }
        return b;
    }

    /** Every route of the gateway; tests build their servers with this. */
    public static void routing(HttpRouting.Builder routing, Gateway g) {
        routing.addFilter(g.cors()) // first: CORS headers on every answer, preflight answered before any route
                .register("/stream/snapshot", new SnapshotService(g.jwt(), g.hub(), g.redis(), g.clickHouse(), g.clock()))
                .register("/stream", streams(g))
                .register("/health", new HealthService(g.clickHouse(), g.redis(), g.flags(),
                        Map.of("analyticsViews", g.analyticsStatus()::healthReport)))
                .register("/analytics", new AnalyticsService(g.jwt(), new AnalyticsReader(g.postgres())))
                .register(new ParticipantsService(g.jwt(), new ParticipantStore(g.postgres())))
                .register("/openapi", new OpenApiService())
                .register("/metrics", new MetricsService(g.metrics(), req -> JwtVerifier.hasToken(req) && g.jwt().authenticate(req).isOperator()))
                .register("/cohorts", g.cohorts().management())
                .register("/cohort", g.cohorts().analytics())
                .register("/", StaticContentService.builder("web").welcomeFileName("index.html").build());
    }

    /** {@code /stream}; holds no state of its own (that is the gateway's), so routing and direct streams may each have one. */
    static StreamService streams(Gateway g) {
        return new StreamService(g.settings().stream(), g.jwt(), g.hub(), g.flags(), g.limits(), g.metrics(), g.clock());
    }

    /** {@code application.yaml} (section {@code csr}) under environment variables / system properties of the same names. */
    static CsrConfig loadConfig() {
        Config yaml = Config.just(ConfigSources.classpath("application.yaml").optional());
        Map<String, String> values = new HashMap<>();
        for (ConfigKey key : ConfigKey.values()) {
            yaml.get("csr").get(key.name()).asString().ifPresent(v -> values.put(key.name(), v));
        }
        return CsrConfig.of(values).with(overridesFromEnvironment());
    }

    private static Map<String, String> overridesFromEnvironment() {
        Map<String, String> env = new HashMap<>();
        for (ConfigKey key : ConfigKey.values()) {
            String v = System.getProperty(key.name(), System.getenv(key.name()));
            if (v != null) {
                env.put(key.name(), v);
            }
        }
        return env;
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
