package io.csr.gateway.auth;

import io.csr.gateway.http.JsonResponses;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@code GET /auth/me}: what the gateway makes of the caller's token — subject, companies, roles, expiry — once its
 * signature and claims are verified. Pages show this instead of decoding the token themselves: a token's claims are
 * only the holder's say-so until the server has checked them (a forged token could name any "company", markup
 * included).
 */
public record WhoAmIService(JwtVerifier jwt) implements HttpService {

    @Override
    public void routing(HttpRules rules) {
        rules.get("/me", this::me);
    }

    private void me(ServerRequest req, ServerResponse res) {
        Principal p = jwt.authenticate(req);
        JsonResponses.send(res, new Me(p.subject(), new TreeSet<>(p.companies()), new TreeSet<>(p.roles()), p.expiresAt().toString()));
    }

    /** The answer: the verified token's subject, companies and roles (sorted), and expiry. */
    public record Me(String subject, SortedSet<String> companies, SortedSet<String> roles, String expiresAt) {
    }
}
