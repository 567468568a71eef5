package io.csr.gateway;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.analytics.AnalyticsRefreshSchedule;
import io.csr.gateway.analytics.AnalyticsRefreshStatus;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.cohort.CohortApi;
import io.csr.gateway.stream.ConnectionLimits;
import io.csr.gateway.stream.FeatureFlags;
import io.csr.gateway.stream.StreamHub;
import io.csr.gateway.stream.StreamMetrics;
import io.csr.gateway.web.CorsFilter;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

import java.net.URI;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Everything one gateway node holds: clients (Redis pool, ClickHouse, PostgreSQL-backed flags) built once, the stream
 * hub with its reader threads, metrics and limits. Handed to {@link Main#routing}; {@link #close()} ends streams
 * cleanly, stops the readers and closes the clients, in that order.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

    private final GatewaySettings settings;
    private final Clock clock;
    private final JedisPool redis;
    private final ClickHouseAccess clickHouse;
    private final FeatureFlags flags;
    private final StreamMetrics metrics = new StreamMetrics();
    private final StreamHub hub;
    private final ConnectionLimits limits;
    private final JwtVerifier jwt;
    private final Thread flagWatcher;
    private final CorsFilter cors;
    private final CohortApi cohorts;
    private final PostgresSettings postgres;
    private final AnalyticsRefreshStatus analyticsStatus;
    private final AnalyticsRefreshSchedule analyticsSchedule; // null when ANALYTICS_REFRESH_SECONDS=0

    public Gateway(GatewaySettings settings, ClickHouseAccess clickHouse, PostgresSettings postgres, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.clickHouse = clickHouse;
        GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
        poolConfig.setMaxTotal(settings.readers() + 32);
        poolConfig.setMaxIdle(settings.readers() + 8);
        poolConfig.setTestOnBorrow(false);
        poolConfig.setJmxEnabled(false);
        // socket timeout above the XREAD BLOCK time, so a blocked read is not mistaken for a dead connection
        this.redis = new JedisPool(poolConfig, URI.create(settings.redisUrl()), 2_000, 5_000);
        this.flags = new FeatureFlags(postgres, settings.flagRefresh(), clock);
        this.hub = new StreamHub(redis, settings.redisKeyPrefix(), settings.readers(), metrics,
                "gw-" + UUID.randomUUID().toString().substring(0, 8));
        this.limits = new ConnectionLimits(settings.maxConnectionsPerCompany(), settings.maxConnections(), settings.retryAfterSeconds());
        this.jwt = new JwtVerifier(settings.jwtSecret(), settings.jwksUrl(), clock);
        this.cors = CorsFilter.fromAllowedOrigins(settings.corsAllowedOrigins());
        if (settings.usesDevSecret()) {
            LOG.warning("JWT_SECRET is the documented dev default: anyone can mint tokens. Set JWT_SECRET outside development.");
        }
        this.cohorts = new CohortApi(jwt, clickHouse, postgres, settings.cohortRateLimitPerMinute(),
                settings.cohortMembershipCacheRows(), clock);
        this.postgres = postgres;
        this.analyticsStatus = new AnalyticsRefreshStatus(postgres);
        this.analyticsSchedule = settings.analyticsRefresh().isZero() ? null
                : new AnalyticsRefreshSchedule(new AnalyticsViewRefresher(postgres, AnalyticsViewRefresher.DEFAULT_LOCK_WAIT),
                        analyticsStatus, settings.analyticsRefresh(), clock).start();
        hub.start();
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

    public JedisPool redis() {
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

    public CorsFilter cors() {
        return cors;
    }

    public CohortApi cohorts() {
        return cohorts;
    }

    public PostgresSettings postgres() {
        return postgres;
    }

    public AnalyticsRefreshStatus analyticsStatus() {
        return analyticsStatus;
    }

    /** Ends every open stream with {@code event: close} (reason {@code shutdown}) and waits up to the grace period. */
    public void drainStreams(long graceMillis) {
        hub.closeAllStreams("shutdown");
        if (!hub.awaitDrained(graceMillis, TimeUnit.MILLISECONDS)) {
            LOG.warning("some SSE streams did not end within " + graceMillis + " ms of shutdown");
        }
    }

    @Override
    public void close() {
        flagWatcher.interrupt();
        if (analyticsSchedule != null) {
            analyticsSchedule.close();
        }
        hub.close();
        flags.close();
        cohorts.close();
        redis.close();
        clickHouse.close();
    }
}
