package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.auth.JwtVerifier;
import io.helidon.webserver.http.HttpService;

import java.time.Clock;

/**
 * The cohort API of one gateway node: analytics ({@code /cohort}, ClickHouse) and management ({@code /cohorts},
 * PostgreSQL) sharing one per-company rate limit and one audit log. Built once by the gateway, closed on shutdown
 * (flushes the audit queue).
 */
public final class CohortApi implements AutoCloseable {
    private final CohortCalls calls;
    private final CohortAuditLog audit;
    private final CohortQueries queries;
    private final CohortStore store;
    private final Clock clock;

    public CohortApi(JwtVerifier jwt, ClickHouseAccess clickHouse, PostgresSettings postgres, int rateLimitPerMinute,
                     long membershipCacheRows, Clock clock) {
        this.audit = new CohortAuditLog(postgres);
        this.calls = new CohortCalls(jwt, new CohortRateLimiter(rateLimitPerMinute, clock), audit, clock);
        this.queries = new CohortQueries(clickHouse, new MembershipCache(clickHouse, membershipCacheRows));
        this.store = new CohortStore(postgres);
        this.clock = clock;
    }

    /** Routes of {@code /cohort}: metrics, trends, overview, compare, top. */
    public HttpService analytics() {
        return new CohortAnalyticsService(calls, queries, clock);
    }

    /** Routes of {@code /cohorts}: create, members, list, delete, audit. */
    public HttpService management() {
        return new CohortManagementService(calls, store, audit);
    }

    @Override
    public void close() {
        audit.close();
    }
}
