package io.csr.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimNames;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import io.csr.gateway.http.ApiError;
import io.helidon.common.uri.UriQuery;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.ServerRequest;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Verifies HS256 JWTs (secret {@code JWT_SECRET}) — and RS256 ones signed by a key of {@code JWT_JWKS_URL} when set —
 * taken from {@code Authorization: Bearer}; only a request that reads a stream ({@code GET /stream/updates},
 * {@link #authenticateStreamRead}) may carry it as the {@code access_token} query parameter instead (EventSource cannot
 * set headers). Everywhere else a token in the URL is refused with a 401, even next to a valid header: URLs land in
 * browser history, proxy and access logs, so a token there must never be able to change anything.
 *
 * <p>Verification is Nimbus' {@link DefaultJWTProcessor} (signature by the key the header's algorithm selects, {@code typ}
 * absent, {@code JWT} or {@code at+jwt}) with its {@link DefaultJWTClaimsVerifier} ({@code exp} and {@code sub} required,
 * {@code nbf} honoured with {@code JWT_CLOCK_SKEW_SECONDS} of skew, {@code iss} and {@code aud} required when
 * {@code JWT_ISSUER} / {@code JWT_AUDIENCE} are set — which {@link JwtSettings} insists on when JWKS is used), around it
 * what the library leaves open: canonical base64url only (no padding, no stray bits, so one token has one spelling),
 * expired means {@code now >= exp} exactly (an open stream ends there), a lifetime ({@code exp − iat}, or {@code exp −
 * now} without {@code iat}) of at most {@code JWT_MAX_LIFETIME_SECONDS}. Claims: {@code companies} (array) or
 * {@code company_id}, {@code roles} (array or space/comma separated string; {@code admin} — of the token's companies —
 * and {@code operator} are recognised, see {@link Principal}). Every failure is a 401 {@link ApiError} naming the reason.
 */
public final class JwtVerifier {
    /** The query parameter a stream reader may carry its token in. */
    public static final String QUERY_TOKEN = "access_token";
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** Three dot-separated base64url parts without padding: the compact JWS serialization, nothing else. */
    private static final Pattern COMPACT = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");
    private static final JOSEObjectType AT_JWT = new JOSEObjectType("at+jwt");

    private final JwtSettings settings;
    private final SecretKey secret;
    private final JWSVerificationKeySelector<SecurityContext> rsaKeys;
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    private final Clock clock;

    /** HS256 with {@code secret}, no issuer or audience rules (tests, tools). */
    public JwtVerifier(String secret, Clock clock) {
        this(JwtSettings.hs256(secret), clock);
    }

    public JwtVerifier(JwtSettings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.secret = new SecretKeySpec(settings.secret().getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        String jwksUrl = settings.jwksUrl();
        if (jwksUrl.isBlank()) {
            this.rsaKeys = null;
        } else {
            try {
                JWKSource<SecurityContext> source = JWKSourceBuilder.<SecurityContext>create(URI.create(jwksUrl).toURL()).retrying(true).build();
                this.rsaKeys = new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, source);
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("JWT_JWKS_URL='" + jwksUrl + "' is not a URL: " + e.getMessage(), e);
            }
        }
        processor.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, AT_JWT, null));
        processor.setJWSKeySelector(this::keysFor);
        Set<String> required = new LinkedHashSet<>(List.of(JWTClaimNames.SUBJECT, JWTClaimNames.EXPIRATION_TIME));
        JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
        if (!settings.issuer().isEmpty()) {
            exact.issuer(settings.issuer());
        }
        if (!settings.audiences().isEmpty()) {
            required.add(JWTClaimNames.AUDIENCE);
        }
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                settings.audiences().isEmpty() ? null : new HashSet<>(settings.audiences()), exact.build(), required, null) {
            @Override
            protected Date currentTime() {
                return Date.from(JwtVerifier.this.clock.instant());
            }
        };
        claims.setMaxClockSkew((int) settings.clockSkew().toSeconds());
        processor.setJWTClaimsSetVerifier(claims);
    }

    /** The key(s) the header's algorithm may be verified with: the secret for HS256, the JWKS for RS256, else none. */
    private List<? extends Key> keysFor(JWSHeader header, SecurityContext ctx) throws KeySourceException {
        if (JWSAlgorithm.HS256.equals(header.getAlgorithm())) {
            return List.of(secret);
        }
        if (JWSAlgorithm.RS256.equals(header.getAlgorithm()) && rsaKeys != null) {
            return rsaKeys.selectJWSKeys(header, ctx);
        }
        return List.of();
    }

    /**
     * The principal of the request's {@code Authorization: Bearer} token; 401 when missing or invalid, and when the
     * request carries a token in its URL ({@code access_token}), which only {@link #authenticateStreamRead} takes.
     */
    public Principal authenticate(ServerRequest req) {
        if (req.query().contains(QUERY_TOKEN)) {
            throw unauthorized("token_in_url", "a token in the URL (access_token) is accepted only by GET /stream/updates; send it as"
                    + " 'Authorization: Bearer <JWT>' and leave it out of the URL (URLs are kept in browser history and logs)");
        }
        return verify(bearer(req.headers()).orElseThrow(() -> unauthorized("token_missing",
                "no token: send 'Authorization: Bearer <JWT>' (mint one with bin/csr token --company <id>)")));
    }

    /**
     * For reading a stream ({@code GET /stream/updates}) only: the {@code Authorization: Bearer} token, or else the
     * {@code access_token} query parameter (a browser {@code EventSource} cannot set headers); 401 when missing or
     * invalid. Takes headers and query so that a request not routed by Helidon (a stream served on its connection) can
     * use it.
     */
    public Principal authenticateStreamRead(Headers headers, UriQuery query) {
        Optional<String> token = bearer(headers).or(() -> query.first(QUERY_TOKEN).asOptional());
        return verify(token.orElseThrow(() -> unauthorized("token_missing",
                "no token: send 'Authorization: Bearer <JWT>' or, from an EventSource, the access_token query parameter"
                        + " (mint one with bin/csr token --company <id>)")));
    }

    /** The request carries a token (header or query parameter), valid or not. */
    public static boolean hasToken(ServerRequest req) {
        return req.headers().contains(HeaderNames.AUTHORIZATION) || req.query().contains(QUERY_TOKEN);
    }

    static Optional<String> bearer(Headers headers) {
        Optional<String> header = headers.first(HeaderNames.AUTHORIZATION);
        if (header.isPresent()) {
            String h = header.get().trim();
            if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return Optional.of(h.substring(7).trim());
            }
            throw unauthorized("token_invalid", "the Authorization header must be 'Bearer <JWT>'");
        }
        return Optional.empty();
    }

    public Principal verify(String token) {
        if (!COMPACT.matcher(token).matches() || !canonical(token)) {
            throw unauthorized("token_invalid", "the token is not a compact JWT in canonical base64url (three dot-separated"
                    + " parts of [A-Za-z0-9_-], no '=' padding, no other characters)");
        }
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw unauthorized("token_invalid", "the token is not a JWT: " + e.getMessage());
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!JWSAlgorithm.HS256.equals(alg) && !(JWSAlgorithm.RS256.equals(alg) && rsaKeys != null)) {
            throw unauthorized("token_invalid", "the token is signed with " + alg + "; accepted: HS256"
                    + (rsaKeys != null ? ", RS256 (JWKS)" : " (RS256 needs JWT_JWKS_URL)"));
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(jwt, null);
        } catch (KeySourceException e) {
            throw ApiError.unavailable("jwks_unavailable", "The identity provider's signing keys (JWT_JWKS_URL)", e); // its text: logged only
        } catch (ExpiredJWTException e) {
            throw unauthorized("token_expired", "the token expired; get a fresh one and reconnect");
        } catch (BadJWTException e) {
            throw unauthorized(e.getMessage().contains("before use time") ? "token_not_yet_valid" : "token_invalid",
                    "the token's claims are refused: " + e.getMessage() + rulesHint());
        } catch (BadJOSEException e) {
            throw unauthorized("token_invalid", JWSAlgorithm.HS256.equals(alg) ? "the token signature does not match JWT_SECRET"
                    : "no key of JWT_JWKS_URL (kid " + jwt.getHeader().getKeyID() + ") verifies the RS256 signature (" + e.getMessage() + ")");
        } catch (JOSEException e) {
            throw unauthorized("token_invalid", "the token signature cannot be checked: " + e.getMessage());
        }
        Instant now = clock.instant();
        Instant exp = claims.getExpirationTime().toInstant();
        if (!exp.isAfter(now)) {
            // no skew here: an open stream ends at exp, so a reconnect after it must not be let in again
            throw unauthorized("token_expired", "the token expired at " + exp + "; get a fresh one and reconnect");
        }
        Instant from = claims.getIssueTime() == null ? now : claims.getIssueTime().toInstant();
        Duration lifetime = Duration.between(from, exp);
        if (lifetime.compareTo(settings.maxLifetime()) > 0) {
            throw unauthorized("token_invalid", "the token lives " + lifetime.toSeconds() + " s (exp " + exp + " − "
                    + (claims.getIssueTime() == null ? "now" : "iat " + from) + "), longer than JWT_MAX_LIFETIME_SECONDS="
                    + settings.maxLifetime().toSeconds() + "; mint a shorter-lived one");
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

    /** Base64url has one spelling per byte string: decoding and encoding each part again gives it back. */
    private static boolean canonical(String token) {
        for (String part : token.split("\\.")) {
            if (!new Base64URL(part).toString().equals(Base64URL.encode(new Base64URL(part).decode()).toString())) {
                return false;
            }
        }
        return true;
    }

    private String rulesHint() {
        if (settings.issuer().isEmpty() && settings.audiences().isEmpty()) {
            return "";
        }
        return " (this gateway requires" + (settings.issuer().isEmpty() ? "" : " iss=" + settings.issuer())
                + (settings.audiences().isEmpty() ? "" : " aud in " + settings.audiences()) + ")";
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
