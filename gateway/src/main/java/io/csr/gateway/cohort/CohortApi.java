package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.cohort.rule.RuleCohorts;
import io.csr.gateway.cohort.rule.RuleEvaluator;
import io.csr.gateway.http.RequestBodies;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.limits.RateLimiter;
import io.helidon.webserver.http.HttpService;

import javax.sql.DataSource;
import java.time.Clock;
import java.time.Duration;

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
    private final RequestBodies bodies;
    private final RuleCohorts rules;
    private final CohortMonths months;

    /**
     * @param limiter              the company's budget of cohort calls (COHORT_RATE_LIMIT_PER_MINUTE; cluster-wide in a gateway)
     * @param ruleRefresh          how often every rule cohort is recomputed (COHORT_RULE_REFRESH_SECONDS; zero: never on a schedule)
     * @param openMonthDaysFromRows rows of the open month's partition from which its per-cohort days are computed and read
     *                             (COHORT_OPEN_MONTH_DAYS_FROM_ROWS)
     */
    public CohortApi(JwtVerifier jwt, ClickHouseAccess clickHouse, DataSource postgres, String postgresUrl, RateLimiter limiter,
                     long membershipCacheRows, Duration ruleRefresh, boolean dailyAggregates, Duration monthRefresh,
                     long openMonthDaysFromRows, RequestBodies bodies, Clock clock) {
        this.audit = new CohortAuditLog(postgres, postgresUrl);
        this.bodies = bodies;
        this.calls = new CohortCalls(jwt, limiter, audit, clock);
        // the monthly rows serve only when their schedule is on (COHORT_MONTH_REFRESH_SECONDS > 0) and beside the
        // default source: with COHORT_DAILY_AGGREGATES=false every figure comes from the observations (the reference)
        boolean monthly = dailyAggregates && !monthRefresh.isZero();
        this.months = new CohortMonths(clickHouse, monthly ? monthRefresh : Duration.ZERO).openMonthDaysFrom(openMonthDaysFromRows).start();
        this.queries = new CohortQueries(clickHouse, new MembershipCache(clickHouse, membershipCacheRows),
                dailyAggregates ? CohortQueries.Source.CHEAPER : CohortQueries.Source.OBSERVATIONS, monthly ? months : null,
                dailyAggregates); // a month compacted into one merged part is read without FINAL (ReadParts), except on the reference path
        this.store = new CohortStore(postgres);
        this.clock = clock;
        this.rules = new RuleCohorts(postgres, new RuleEvaluator(postgres, clickHouse, clock), ruleRefresh).start();
    }

    /** A participant of the company was written: its rule cohorts are recomputed soon. */
    public void participantsChanged(String companyId) {
        rules.companyChanged(companyId);
    }

    /** The rule cohorts' membership keeper (tests and benchmarks drive a pass directly). */
    public RuleCohorts rules() {
        return rules;
    }

    /**
     * Computes the stale per-cohort monthly figures of the company's closed months now (what the schedule does every
     * COHORT_MONTH_REFRESH_SECONDS; benchmarks and tests drive it directly); returns the (cohort, month) written.
     */
    public int refreshCohortMonths(String companyId) {
        return months.refresh(companyId, java.time.LocalDate.now(clock.withZone(java.time.ZoneOffset.UTC)));
    }

    /** Routes of {@code /cohort}: metrics, trends, overview, compare, top. */
    public HttpService analytics() {
        return new CohortAnalyticsService(calls, queries, bodies, clock);
    }

    /** Routes of {@code /cohorts}: create, members, list, delete, audit. */
    public HttpService management() {
        return new CohortManagementService(calls, store, audit, bodies, rules);
    }

    @Override
    public void close() {
        rules.close();
        months.close();
        audit.close();
    }
}
