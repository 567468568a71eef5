package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.sql.SQLException;
import java.time.Clock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What every cohort API call goes through, in this order: token (401, not audited: no verified company), the handler
 * (which names the company and cohort the call is about through {@link Call#about}, charging the company's rate limit
 * there), the answer or the error as JSON, and one audit entry with the final status. 429 answers are not audited, so
 * a flood does not turn into a flood of writes. ClickHouse or PostgreSQL unreachable: 503 with {@code Retry-After}.
 */
final class CohortCalls {
    private static final Logger LOG = Logger.getLogger(CohortCalls.class.getName());

    private final JwtVerifier jwt;
    private final CohortRateLimiter limiter;
    private final CohortAuditLog audit;
    private final Clock clock;

    CohortCalls(JwtVerifier jwt, CohortRateLimiter limiter, CohortAuditLog audit, Clock clock) {
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

    /** One call in progress: the verified principal and what the call is about (for the rate limit and the audit). */
    final class Call {
        final Principal principal;
        final ServerRequest req;
        private String companyId;
        private Long cohortId;
        private String detail = "";

        private Call(Principal principal, ServerRequest req) {
            this.principal = principal;
            this.req = req;
        }

        /** The call concerns this company (and cohort, may be null): charges the company's rate limit once. */
        void about(String company, Long cohort) {
            if (!company.equals(companyId)) {
                companyId = company;
                limiter.acquire(company);
            }
            cohortId = cohort;
        }

        /** The call is about several cohorts (compare): keep the company, record no single cohort. */
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
        Principal principal;
        try {
            principal = jwt.authenticate(req);
        } catch (ApiError e) {
            e.send(res);
            return;
        }
        Call call = new Call(principal, req);
        int status;
        try {
            Reply reply = handler.handle(call);
            status = reply.status();
            res.status(Status.create(status));
            if (reply.body() == null) {
                res.send();
            } else {
                JsonResponses.send(res, reply.body());
            }
        } catch (ApiError e) {
            status = e.status();
            e.send(res);
        } catch (ClickHouseAccessException e) {
            LOG.log(Level.WARNING, endpoint + ": ClickHouse failed", e);
            ApiError err = new ApiError(503, "clickhouse_unavailable", "cohort figures cannot be read from ClickHouse now ("
                    + e.getMessage() + "); retry shortly", 5);
            status = err.status();
            err.send(res);
        } catch (SQLException e) {
            LOG.log(Level.WARNING, endpoint + ": PostgreSQL failed", e);
            ApiError err = new ApiError(503, "postgres_unavailable", "cohorts cannot be read or changed in PostgreSQL now ("
                    + e.getMessage() + "); retry shortly", 5);
            status = err.status();
            err.send(res);
        }
        if (call.companyId != null && status != 429) {
            audit.record(new CohortAuditLog.Entry(clock.instant(), call.companyId, clean(principal.subject()), call.cohortId,
                    req.prologue().method().text(), endpoint, status, clean(call.detail)));
        }
    }

    /** PostgreSQL text cannot hold NUL; everything else is stored as given. */
    private static String clean(String s) {
        return s.indexOf('\0') < 0 ? s : s.replace('\0', '\uFFFD');
    }
}
