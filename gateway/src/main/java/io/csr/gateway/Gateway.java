package io.csr.gateway;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.clickhouse.ClickHouseAccess;
import com.zaxxer.hikari.HikariDataSource;
import io.csr.common.postgres.PostgresPool;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.analytics.AnalyticsRefreshSchedule;
import io.csr.gateway.analytics.AnalyticsRefreshStatus;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.cohort.CohortApi;
import io.csr.gateway.cluster.NodeFigures;
import io.csr.gateway.limits.ClusterSlots;
import io.csr.gateway.limits.RateLimiter;
import io.csr.gateway.observe.HealthService;
import io.csr.gateway.http.RequestBodies;
import io.csr.gateway.stream.ConnectionLimits;
import io.csr.gateway.stream.FeatureFlags;
import io.csr.gateway.stream.StreamHub;
import io.csr.gateway.stream.StreamMetrics;
import io.csr.gateway.web.CorsFilter;
import io.csr.common.redis.RedisEndpoint;
import redis.clients.jedis.UnifiedJedis;

import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Everything one gateway node holds: clients (Redis pool, ClickHouse, the PostgreSQL pool) built once, the stream
 * hub with its reader threads, metrics and limits. Handed to {@link Main#routing}; {@link #close()} ends streams
 * cleanly, stops the readers and closes the clients, in that order.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

    private final GatewaySettings settings;
    private final Clock clock;
    private final UnifiedJedis redis;
    private final ClickHouseAccess clickHouse;
    private final FeatureFlags flags;
    private final StreamMetrics metrics = new StreamMetrics();
    private final StreamHub hub;
    private final ConnectionLimits limits;
    private final JwtVerifier jwt;
    private final RateLimiter apiLimits;
    private final Thread flagWatcher;
    private final CorsFilter cors;
    private final CohortApi cohorts;
    private final PostgresSettings postgres;
    private final HikariDataSource postgresPool;
    private final RequestBodies bodies;
    private final AnalyticsRefreshStatus analyticsStatus;
    private final AnalyticsRefreshSchedule analyticsSchedule; // null when ANALYTICS_REFRESH_SECONDS=0
    private final String nodeId;
    private final NodeFigures figures;

    public Gateway(GatewaySettings settings, ClickHouseAccess clickHouse, PostgresSettings postgres, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.clickHouse = clickHouse;
        RedisEndpoint endpoint = RedisEndpoint.parse(settings.redisUrl());
        // one client for the node (a pool per Redis node): the readers' blocking XREADs hold one connection each; the
        // socket timeout is above the XREAD BLOCK time, so a blocked read is not mistaken for a dead connection
        this.redis = endpoint.open("csr-gateway", 5_000, settings.readers() + 32);
        this.postgresPool = PostgresPool.open(postgres, settings.postgresPool(), "csr-gateway-postgres");
        this.bodies = new RequestBodies(settings.maxBodyBytes());
        this.flags = new FeatureFlags(postgresPool, settings.flagRefresh(), clock);
        this.nodeId = newNodeId();
        this.hub = new StreamHub(redis, endpoint, settings.redisKeyPrefix(), settings.readers(), settings.historyCheck(), metrics, nodeId);
        this.limits = new ConnectionLimits(settings.maxConnectionsPerCompany(), settings.maxConnections(), settings.retryAfterSeconds(),
                new ClusterSlots(redis, settings.redisKeyPrefix(), nodeId));
        this.jwt = new JwtVerifier(settings.jwt(), clock);
        this.cors = CorsFilter.fromAllowedOrigins(settings.corsAllowedOrigins());
        this.apiLimits = RateLimiter.clusterWide("snapshot, analytics and participants", "API_RATE_LIMIT_PER_MINUTE",
                settings.apiRateLimitPerMinute(), clock, redis, settings.redisKeyPrefix(), "api");
        if (settings.usesDevSecret()) {
            LOG.warning("JWT_SECRET is the documented dev default: anyone can mint tokens. Set JWT_SECRET outside development.");
        }
        this.cohorts = new CohortApi(jwt, clickHouse, postgresPool, postgres.url(), RateLimiter.clusterWide("cohort API",
                "COHORT_RATE_LIMIT_PER_MINUTE", settings.cohortRateLimitPerMinute(), clock, redis, settings.redisKeyPrefix(), "cohort"),
                settings.cohortMembershipCacheRows(), settings.cohortRuleRefresh(), settings.cohortDailyAggregates(), settings.cohortMonthRefresh(),
                settings.cohortOpenMonthDaysFromRows(), bodies, clock);
        this.postgres = postgres;
        this.analyticsStatus = new AnalyticsRefreshStatus(postgresPool);
        this.analyticsSchedule = settings.analyticsRefresh().isZero() ? null
                : new AnalyticsRefreshSchedule(new AnalyticsViewRefresher(postgres, postgresPool, AnalyticsViewRefresher.DEFAULT_LOCK_WAIT),
                        analyticsStatus, settings.analyticsRefresh(), clock).start();
        hub.start();
        this.figures = new NodeFigures(redis, settings.redisKeyPrefix(), nodeId, settings.host() + ":" + settings.port(), metrics, limits, clock);
        this.flagWatcher = Thread.ofVirtual().name("csr-flag-watcher").start(this::watchFlags);
    }

    /** Ends open streams of companies whose streaming flag was switched off (checked every FEATURE_FLAG_REFRESH_SECONDS). */
    private void watchFlags() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(settings.flagRefresh());
                for (String companyId : hub.subscriberCounts().keySet()) {
                    if (!flags.streamingEnabled(companyId)) {
                        int n = hub.closeCompany(companyId, "streaming_disabled");
                        LOG.info("streaming switched off for " + companyId + " (feature_flags); ended " + n + " stream(s)");
                    }
                }
            }
        } catch (InterruptedException e) {
            // shutting down
        }
    }

    public GatewaySettings settings() {
        return settings;
    }

    public Clock clock() {
        return clock;
    }

    public UnifiedJedis redis() {
        return redis;
    }

    public ClickHouseAccess clickHouse() {
        return clickHouse;
    }

    public FeatureFlags flags() {
        return flags;
    }

    public StreamMetrics metrics() {
        return metrics;
    }

    public StreamHub hub() {
        return hub;
    }

    public ConnectionLimits limits() {
        return limits;
    }

    public JwtVerifier jwt() {
        return jwt;
    }

    /** Per-company rate limit of /stream/snapshot, /analytics/* and /participants* (the cohort API has its own). */
    public RateLimiter apiLimits() {
        return apiLimits;
    }

    public CorsFilter cors() {
        return cors;
    }

    public CohortApi cohorts() {
        return cohorts;
    }

    public PostgresSettings postgres() {
        return postgres;
    }

    /** The node's one PostgreSQL pool (POSTGRES_POOL_SIZE connections at most). */
    public HikariDataSource postgresPool() {
        return postgresPool;
    }

    /** The body limit every endpoint that takes a body reads through. */
    public RequestBodies bodies() {
        return bodies;
    }

    public AnalyticsRefreshStatus analyticsStatus() {
        return analyticsStatus;
    }

    /** This node's id in Redis (stream counts, published figures, reader consumer names): host name and a random part. */
    public String nodeId() {
        return nodeId;
    }

    /** This node's published figures (read back for the whole cluster by {@code /cluster/stats}). */
    public NodeFigures figures() {
        return figures;
    }

    /** Not ready ({@code /health/ready} 503) while a reader is down or the node drains. */
    public HealthService.Readiness readiness() {
        return new HealthService.Readiness() {
            @Override
            public boolean readersHealthy() {
                return hub.readersHealthy();
            }

            @Override
            public boolean draining() {
                return limits.draining();
            }
        };
    }

    private static String newNodeId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "gw";
        }
        return host.replaceAll("[^A-Za-z0-9.-]", "") + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Stops taking streams (new ones are refused with 503 {@code draining}, {@code /health/ready} answers 503), ends
     * every open stream with {@code event: close} (reason {@code shutdown}, a jittered {@code retry}) and waits up to
     * {@code graceMillis} for them to end.
     */
    public void drainStreams(long graceMillis) {
        limits.drain();
        hub.closeAllStreams("shutdown");
        if (!hub.awaitDrained(graceMillis, TimeUnit.MILLISECONDS)) {
            LOG.warning("some SSE streams did not end within " + graceMillis + " ms of shutdown");
        }
    }

    @Override
    public void close() {
        flagWatcher.interrupt();
        figures.close();
        if (analyticsSchedule != null) {
            analyticsSchedule.close();
        }
        hub.close();
        flags.close();
        cohorts.close();
        redis.close();
        clickHouse.close();
        postgresPool.close();
    }
}
