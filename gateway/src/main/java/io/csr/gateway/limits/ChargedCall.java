package io.csr.gateway.limits;

import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.helidon.webserver.http.ServerRequest;

/**
 * The verified caller of an API request and the one company the request acts for, whose rate limit it was charged
 * to. {@link #of} decides in this order: the token (401), the company ({@link CompanyScope}: 400, 403), that
 * company's limit (429) — before the handler reads any store, so a caller over its limit costs no query.
 */
public record ChargedCall(Principal principal, String companyId) {

    public static ChargedCall of(ServerRequest req, JwtVerifier jwt, RateLimiter limiter) {
        Principal principal = jwt.authenticate(req);
        String companyId = CompanyScope.resolve(principal, req);
        limiter.acquire(companyId);
        return new ChargedCall(principal, companyId);
    }
}
