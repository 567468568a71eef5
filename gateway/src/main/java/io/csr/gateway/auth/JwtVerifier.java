package io.csr.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.gateway.http.ApiError;
import io.helidon.common.uri.UriQuery;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.ServerRequest;

import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Verifies HS256 JWTs (secret {@code JWT_SECRET}) — and RS256 ones signed by a key of {@code JWT_JWKS_URL} when set —
 * taken from {@code Authorization: Bearer} or the {@code access_token}
 * query parameter (EventSource cannot set headers). Claims: {@code sub}, {@code exp} (required), {@code companies}
 * (array) or {@code company_id}, {@code roles} (array or space/comma separated string; {@code admin} — of the token's
 * companies — and {@code operator} are recognised, see {@link Principal}). Every failure is a 401
 * {@link ApiError} naming the reason.
 */
public final class JwtVerifier {
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private final MACVerifier verifier;
    private final JWSVerificationKeySelector<SecurityContext> rsaKeys;
    private final Clock clock;

    public JwtVerifier(String secret, Clock clock) {
        this(secret, "", clock);
    }

    /** HS256 with {@code secret}; also RS256 with the keys of {@code jwksUrl} when it is not empty. */
    public JwtVerifier(String secret, String jwksUrl, Clock clock) {
        try {
            this.verifier = new MACVerifier(secret.getBytes(StandardCharsets.UTF_8));
        } catch (JOSEException e) {
            throw new IllegalArgumentException("JWT_SECRET is not usable for HS256: " + e.getMessage(), e);
        }
        if (jwksUrl == null || jwksUrl.isBlank()) {
            this.rsaKeys = null;
        } else {
            try {
                JWKSource<SecurityContext> source = JWKSourceBuilder.<SecurityContext>create(URI.create(jwksUrl).toURL()).retrying(true).build();
                this.rsaKeys = new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, source);
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("JWT_JWKS_URL='" + jwksUrl + "' is not a URL: " + e.getMessage(), e);
            }
        }
        this.clock = clock;
    }

    /** The principal of the request's token; 401 when missing or invalid. */
    public Principal authenticate(ServerRequest req) {
        return authenticate(req.headers(), req.query());
    }

    /** {@link #authenticate(ServerRequest)} from a request's headers and query, for a request not routed by Helidon. */
    public Principal authenticate(Headers headers, UriQuery query) {
        return verify(tokenOf(headers, query).orElseThrow(() -> unauthorized("token_missing",
                "no token: send 'Authorization: Bearer <JWT>' or the access_token query parameter (mint one with bin/csr token --company <id>)")));
    }

    /** The request carries a token (header or query parameter), valid or not. */
    public static boolean hasToken(ServerRequest req) {
        return req.headers().contains(HeaderNames.AUTHORIZATION) || req.query().contains("access_token");
    }

    static Optional<String> tokenOf(Headers headers, UriQuery query) {
        Optional<String> header = headers.first(HeaderNames.AUTHORIZATION);
        if (header.isPresent()) {
            String h = header.get().trim();
            if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return Optional.of(h.substring(7).trim());
            }
            throw unauthorized("token_invalid", "the Authorization header must be 'Bearer <JWT>'");
        }
        return query.first("access_token").asOptional();
    }

    public Principal verify(String token) {
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw unauthorized("token_invalid", "the token is not a JWT: " + e.getMessage());
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (JWSAlgorithm.HS256.equals(alg)) {
            try {
                if (!jwt.verify(verifier)) {
                    throw unauthorized("token_invalid", "the token signature does not match JWT_SECRET");
                }
            } catch (JOSEException e) {
                throw unauthorized("token_invalid", "the token signature cannot be checked: " + e.getMessage());
            }
        } else if (JWSAlgorithm.RS256.equals(alg) && rsaKeys != null) {
            verifyRsa(jwt);
        } else {
            throw unauthorized("token_invalid", "the token is signed with " + alg + "; accepted: HS256"
                    + (rsaKeys != null ? ", RS256 (JWKS)" : " (RS256 needs JWT_JWKS_URL)"));
        }
        if (claims.getExpirationTime() == null) {
            throw unauthorized("token_invalid", "the token has no exp claim");
        }
        Instant exp = claims.getExpirationTime().toInstant();
        if (!exp.isAfter(clock.instant())) {
            throw unauthorized("token_expired", "the token expired at " + exp + "; get a fresh one and reconnect");
        }
        if (claims.getSubject() == null || claims.getSubject().isBlank()) {
            throw unauthorized("token_invalid", "the token has no sub claim");
        }
        Set<String> companies = new LinkedHashSet<>();
        try {
            List<String> list = claims.getStringListClaim("companies");
            if (list != null) {
                companies.addAll(list);
            }
            String one = claims.getStringClaim("company_id");
            if (one != null) {
                companies.add(one);
            }
        } catch (ParseException e) {
            throw unauthorized("token_invalid", "claims companies/company_id must be a string array / a string: " + e.getMessage());
        }
        for (String c : companies) {
            if (!COMPANY_ID.matcher(c).matches()) {
                throw unauthorized("token_invalid", "company '" + c + "' in the token does not match [A-Za-z0-9_-]{1,64}");
            }
        }
        Set<String> roles = new LinkedHashSet<>(rolesOf(claims));
        if (companies.isEmpty() && !roles.contains(Principal.ROLE_OPERATOR)) {
            // an admin is an admin of the companies in its token: without one it is an admin of nothing
            throw unauthorized("token_invalid", "the token grants no company (claims companies or company_id); only role "
                    + Principal.ROLE_OPERATOR + " may come without one");
        }
        return new Principal(claims.getSubject(), companies, roles, exp);
    }

    private void verifyRsa(SignedJWT jwt) {
        List<Key> keys;
        try {
            keys = rsaKeys.selectJWSKeys(jwt.getHeader(), null);
        } catch (KeySourceException e) {
            throw new ApiError(503, "jwks_unavailable", "the signing keys (JWT_JWKS_URL) cannot be fetched: " + e.getMessage() + "; retry shortly", 5);
        }
        for (Key key : keys) {
            try {
                if (key instanceof RSAPublicKey rsa && jwt.verify(new RSASSAVerifier(rsa))) {
                    return;
                }
            } catch (JOSEException e) {
                // try the next key
            }
        }
        throw unauthorized("token_invalid", "no key of JWT_JWKS_URL (kid " + jwt.getHeader().getKeyID() + ") verifies the RS256 signature");
    }

    private static Collection<String> rolesOf(JWTClaimsSet claims) {
        Object roles = claims.getClaim("roles");
        if (roles instanceof Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        if (roles instanceof String s) {
            return List.of(s.split("[ ,]+"));
        }
        return List.of();
    }

    private static ApiError unauthorized(String code, String message) {
        return new ApiError(401, code, message);
    }
}
