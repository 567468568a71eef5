package io.csr.gateway.analytics;

import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.csr.gateway.limits.RateLimiter;
import io.csr.gateway.limits.ChargedCall;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.sql.SQLException;
import java.util.Map;

/**
 * {@code GET /analytics/company|programmes|language-groups|journey-stages[?companyId=]}: the caller's company's rows of
 * the PostgreSQL analytics views (Contract 6), each with {@code refreshedAt}, the end of the refresh they show.
 * Any token granting the company may read them (the same scope as the live stream); each call is charged to the
 * company's {@code API_RATE_LIMIT_PER_MINUTE} before PostgreSQL is read.
 */
public record AnalyticsService(JwtVerifier jwt, RateLimiter limits, AnalyticsReader reader) implements HttpService {

    private interface Read {
        Map<String, Object> of(String companyId) throws SQLException;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/company", (req, res) -> answer(req, res, reader::company))
                .get("/programmes", (req, res) -> answer(req, res, reader::programmes))
                .get("/language-groups", (req, res) -> answer(req, res, reader::languageGroups))
                .get("/journey-stages", (req, res) -> answer(req, res, reader::journeyStages));
    }

    private void answer(ServerRequest req, ServerResponse res, Read read) {
        String companyId = ChargedCall.of(req, jwt, limits).companyId(); // before PostgreSQL is read
        try {
            JsonResponses.send(res, read.of(companyId));
        } catch (SQLException e) {
            throw ApiError.fromPostgres(e);
        }
    }
}
