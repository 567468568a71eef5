package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.csr.gateway.limits.RateLimiter;
import io.csr.gateway.limits.ChargedCall;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.sql.SQLException;
import java.time.Clock;

/**
 * What every cohort API call goes through, in this order: token (401, not audited: no verified company), the company
 * the call acts for ({@link CompanyScope}: the {@code companyId} parameter, or the token's only company; a token of
 * several companies must name one — 400 {@code company_required} — so exactly one company is charged, never an
 * arbitrary one of the token's), that company's rate limit (429 before any database work: a caller over its limit
 * costs no query, not even the lookup that would answer 404), the handler (which works within that company only and
 * names the cohort the call is about through {@link Call#cohort}), the answer or the error as JSON, and one audit entry
 * with the final status — 404s for unknown ids included; an accepted call (below 400) is answered only once its entry
 * is committed, and 503 {@code audit_unavailable} when that cannot be done ({@link CohortAuditLog}). 429 answers are not
 * audited, so a flood does not turn into a flood of writes. ClickHouse or PostgreSQL unreachable: 503 with {@code Retry-After}; any other store failure 500.
 * Neither shows the store's text (logged with the request id by {@link ApiError}).
 */
final class CohortCalls {
    private final JwtVerifier jwt;
    private final RateLimiter limiter;
    private final CohortAuditLog audit;
    private final Clock clock;

    CohortCalls(JwtVerifier jwt, RateLimiter limiter, CohortAuditLog audit, Clock clock) {
        this.jwt = jwt;
        this.limiter = limiter;
        this.audit = audit;
        this.clock = clock;
    }

    /** A handler's successful answer. */
    record Reply(int status, Object body) {
        static Reply ok(Object body) {
            return new Reply(200, body);
        }
    }

    interface Handler {
        Reply handle(Call call) throws SQLException;
    }

    /** One call in progress: the verified principal, the one company it acts for (charged) and the cohort it is about. */
    final class Call {
        final Principal principal;
        final ServerRequest req;
        /** The company the call acts for; its rate limit was charged before the handler ran. */
        final String companyId;
        private Long cohortId;
        private String detail = "";

        private final String endpoint;

        private Call(Principal principal, ServerRequest req, String companyId, String endpoint) {
            this.principal = principal;
            this.req = req;
            this.companyId = companyId;
            this.endpoint = endpoint;
        }

        /** The audit entry of this call, answered with {@code status}. */
        private CohortAuditLog.Entry entry(int status) {
            return new CohortAuditLog.Entry(clock.instant(), companyId, clean(principal.subject()), cohortId,
                    req.prologue().method().text(), endpoint, status, clean(detail));
        }

        /** The call concerns this cohort of {@link #companyId} (recorded in the audit even when it turns out not to exist). */
        void cohort(Long cohort) {
            cohortId = cohort;
        }

        /** The call is about several cohorts (compare): record no single cohort. */
        void aboutNoSingleCohort() {
            cohortId = null;
        }

        void detail(String text) {
            detail = text;
        }

        /** Role admin and the company in the token: the only callers that may manage the company's cohorts. */
        void requireAdminOf(String company) {
            if (!isAdminOf(principal, company)) {
                throw new ApiError(403, "admin_required", "managing the cohorts of " + company + " needs a token with role admin that grants "
                        + company + "; the token of '" + principal.subject() + "' is not one (mint one with bin/csr token --company "
                        + company + " --admin)");
            }
        }
    }

    /** Admin of {@code companyId}: role admin AND the company granted by the token (admin of nothing else). */
    static boolean isAdminOf(Principal p, String companyId) {
        return p.isAdminOf(companyId);
    }

    void run(ServerRequest req, ServerResponse res, String endpoint, Handler handler) {
        ChargedCall charged = ChargedCall.of(req, jwt, limiter); // its refusals are not audited: thrown as they are
        Call call = new Call(charged.principal(), req, charged.companyId(), endpoint);
        Reply reply;
        try {
            reply = handler.handle(call);
        } catch (ApiError e) {
            throw audited(call, e); // answered, as every refusal, by the routing's error handling (RequestGuard)
        } catch (ClickHouseAccessException e) {
            throw audited(call, ApiError.fromClickHouse(e));
        } catch (SQLException e) {
            throw audited(call, ApiError.fromPostgres(e));
        }
        if (reply.status() < 400) {
            // accepted: answered only once its audit row is committed (survives a kill -9 of this node)
            try {
                audit.recordDurably(call.entry(reply.status()));
            } catch (CohortAuditLog.Unavailable e) {
                throw ApiError.unavailable("audit_unavailable", "PostgreSQL (the cohort audit trail)", e);
            }
        } else if (reply.status() != 429) {
            audit.record(call.entry(reply.status()));
        }
        res.status(Status.create(reply.status()));
        if (reply.body() == null) {
            res.send();
        } else {
            JsonResponses.send(res, reply.body());
        }
    }

    /** The refusal of a call, audited first (but a 429: a flood must not turn into a flood of writes). */
    private ApiError audited(Call call, ApiError refusal) {
        if (refusal.status() != 429) {
            audit.record(call.entry(refusal.status()));
        }
        return refusal;
    }

    /** PostgreSQL text cannot hold NUL; everything else is stored as given. */
    private static String clean(String s) {
        return s.indexOf('\0') < 0 ? s : s.replace('\0', '\uFFFD');
    }
}
