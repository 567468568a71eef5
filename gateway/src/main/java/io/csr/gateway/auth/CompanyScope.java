package io.csr.gateway.auth;

import io.csr.gateway.http.ApiError;
import io.helidon.common.uri.UriQuery;
import io.helidon.webserver.http.ServerRequest;

import java.util.Optional;
import java.util.regex.Pattern;

/** Picks the company a request is about: the {@code companyId} query parameter (must be granted) or the token's only one. */
public final class CompanyScope {
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private CompanyScope() {
    }

    public static String resolve(Principal p, ServerRequest req) {
        return resolve(p, req.query());
    }

    /** {@link #resolve(Principal, ServerRequest)} from the request's query, for a request not routed by Helidon. */
    public static String resolve(Principal p, UriQuery query) {
        Optional<String> asked = query.first("companyId").asOptional();
        if (asked.isPresent()) {
            String c = asked.get();
            if (!COMPANY_ID.matcher(c).matches()) {
                throw ApiError.badRequest("bad_company_id", "companyId '" + (c.length() > 64 ? c.substring(0, 64) + "…" : c)
                        + "' does not match [A-Za-z0-9_-]{1,64}");
            }
            if (!p.grants(c)) {
                throw new ApiError(403, "company_not_granted", "the token of '" + p.subject() + "' does not grant company " + c
                        + "; it grants " + p.companies());
            }
            return c;
        }
        if (p.companies().size() == 1) {
            return p.companies().iterator().next();
        }
        throw ApiError.badRequest("company_required", "the token grants " + p.companies().size()
                + " companies " + p.companies() + "; choose one with the companyId query parameter");
    }
}
