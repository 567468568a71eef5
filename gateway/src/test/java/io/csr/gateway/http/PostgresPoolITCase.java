package io.csr.gateway.http;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.TestQueries;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 28, finding 9: the gateway reaches PostgreSQL through one bounded pool. A burst of parallel requests on every
 * PostgreSQL-backed endpoint never holds more than POSTGRES_POOL_SIZE connections (counted in pg_stat_activity by this
 * gateway's own application_name), and /health probes reuse pooled connections instead of opening one each.
 */
class PostgresPoolITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final int POOL = 3;
    private static final int BURST = 60;
    private static final CsrConfig ENV = CsrConfig.fromEnvironment();
    private static final String URL = ENV.get(ConfigKey.POSTGRES_URL);

    /** This test's gateway's name in pg_stat_activity (JUnit makes an instance per test). */
    private final String app = "csr_pool_it_" + UUID.randomUUID().toString().substring(0, 8);

    /** A gateway with a pool of {@link #POOL} connections named {@link #app}, waiting {@code poolTimeoutMs} for one. */
    private GatewayFixture gateway(int poolTimeoutMs) {
        String pooledUrl = URL + (URL.contains("?") ? "&" : "?") + "ApplicationName=" + app;
        return new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0", "POSTGRES_URL", pooledUrl,
                "POSTGRES_POOL_SIZE", Integer.toString(POOL), "POSTGRES_POOL_TIMEOUT_MS", Integer.toString(poolTimeoutMs)));
    }

    /** A connection of the test's own, outside the gateway's pool. */
    private static Connection postgres() throws SQLException {
        return DriverManager.getConnection(URL, ENV.get(ConfigKey.POSTGRES_USER), "");
    }

    private static HttpRequest get(GatewayFixture fx, String path, String token) {
        return HttpRequest.newBuilder(URI.create(fx.base() + path)).header("Authorization", "Bearer " + token).build();
    }

    @Test
    void aBurstNeverHoldsMoreThanThePoolAndHealthReusesConnections() throws Exception {
        try (GatewayFixture fx = gateway(20_000); Connection watch = postgres()) {
            String admin = fx.tokens.admin(List.of("pool"));
            AtomicInteger most = new AtomicInteger();
            AtomicBoolean burst = new AtomicBoolean(true);
            Thread watcher = Thread.ofPlatform().start(() -> {
                while (burst.get()) {
                    most.accumulateAndGet(backends(watch, app).size(), Math::max);
                }
            });
            List<String> paths = List.of("/participants", "/cohorts", "/cohorts/audit", "/analytics/company", "/health");
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < BURST; i++) {
                answers.add(HTTP.sendAsync(get(fx, paths.get(i % paths.size()), admin), HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> a : answers) {
                HttpResponse<String> res = a.join();
                assertThat(res.statusCode()).as(res.uri() + " " + res.body()).isEqualTo(200);
            }
            burst.set(false);
            watcher.join();
            assertThat(most.get()).as("connections of the gateway during a burst of " + BURST).isBetween(1, POOL);

            // after the burst the pool keeps what it opened (idle ones stay for minutes): 2 (its minimum idle) or 3,
            // as fast as the burst was served; probes reuse them
            Set<Integer> before = backends(watch, app);
            assertThat(before).hasSizeBetween(1, POOL);
            for (int i = 0; i < 20; i++) {
                HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(), HttpResponse.BodyHandlers.discarding());
            }
            assertThat(backends(watch, app)).as("backends after 20 health probes (no new connection per probe)").isEqualTo(before);
        }
    }

    /**
     * /health needs no token, so a flood of it must not take the pool from the API: callers at the same moment share
     * one probe. The probe is held inside PostgreSQL (view_refreshes, which /health's analytics report reads, is
     * locked by the test) while 20 callers wait: one of the gateway's backends waits on the lock, not all of the pool,
     * and a participants call meanwhile gets a connection (it was 503 once the flood had every connection).
     */
    @Test
    void aFloodOfHealthCallsHoldsOneConnectionNotThePool() throws Exception {
        try (GatewayFixture fx = gateway(1_000); Connection watch = postgres(); Connection locker = postgres()) {
            String admin = fx.tokens.admin(List.of("pool"));
            locker.setAutoCommit(false);
            try (java.sql.Statement st = locker.createStatement()) {
                st.execute("LOCK TABLE \"" + fx.ns + "\".view_refreshes IN ACCESS EXCLUSIVE MODE");
            }
            List<CompletableFuture<HttpResponse<String>>> probes = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                probes.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> waitingOnLock(watch, app) >= 1);
            HttpResponse<String> participants = HTTP.send(get(fx, "/participants", admin), HttpResponse.BodyHandlers.ofString());
            int waiting = waitingOnLock(watch, app);
            locker.rollback();
            for (CompletableFuture<HttpResponse<String>> p : probes) {
                assertThat(p.join().statusCode()).as("every caller answered once the lock is gone").isIn(200, 503);
            }
            assertThat(waiting).as("gateway connections held by the 20 waiting /health calls").isEqualTo(1);
            assertThat(participants.statusCode()).as("the API gets a connection meanwhile: " + participants.body()).isEqualTo(200);
        }
    }

    /** The gateway's backends that wait on a lock. */
    private static int waitingOnLock(Connection c, String app) {
        return backends(c, app, " AND wait_event_type = 'Lock'").size();
    }

    private static Set<Integer> backends(Connection c, String app) {
        return backends(c, app, "");
    }

    /** The pids of the gateway's backends ({@code app}) that match {@code condition} too. */
    private static Set<Integer> backends(Connection c, String app, String condition) {
        try {
            return new HashSet<>(TestQueries.queryColumn(c, Integer.class, "SELECT pid FROM pg_stat_activity WHERE application_name = ?" + condition, app));
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
