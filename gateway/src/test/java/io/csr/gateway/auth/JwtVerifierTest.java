package io.csr.gateway.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.csr.gateway.TestTokens;
import io.csr.gateway.http.ApiError;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JwtVerifierTest {
    private static final String SECRET = "unit-test-secret-with-at-least-32-bytes!!";
    private static final String ISSUER = "https://idp.example";
    private static final String AUDIENCE = "csr-gateway";
    private final JwtVerifier verifier = new JwtVerifier(SECRET, Clock.systemUTC());

    @Test
    void acceptsCompaniesArrayAndAdminRole() {
        Principal p = verifier.verify(TestTokens.mintWith(SECRET, "ana", List.of("acme", "globex"), List.of("admin"), Instant.now().plusSeconds(60)));
        assertThat(p.subject()).isEqualTo("ana");
        assertThat(p.companies()).containsExactlyInAnyOrder("acme", "globex");
        assertThat(p.isAdminOf("acme")).isTrue();
        assertThat(p.isAdminOf("initech")).as("an admin is an admin of its token's companies only").isFalse();
        assertThat(p.isOperator()).isFalse();
        assertThat(p.grants("acme")).isTrue();
        assertThat(p.grants("initech")).isFalse();
    }

    @Test
    void operatorIsItsOwnRoleAndTheOnlyOneThatMayGrantNoCompany() {
        Principal op = verifier.verify(TestTokens.mintWith(SECRET, "staff", List.of(), List.of("operator"), Instant.now().plusSeconds(60)));
        assertThat(op.isOperator()).isTrue();
        assertThat(op.isAdminOf("acme")).isFalse();
        assertThat(op.companies()).isEmpty();
        Principal both = verifier.verify(TestTokens.mintWith(SECRET, "x", List.of("acme"), List.of("admin", "operator"), Instant.now().plusSeconds(60)));
        assertThat(both.isOperator()).isTrue();
        assertThat(both.isAdminOf("acme")).isTrue();
        assertThatThrownBy(() -> verifier.verify(TestTokens.mintWith(SECRET, "a", List.of(), List.of("admin"), Instant.now().plusSeconds(60))))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.getMessage()).contains("grants no company", "operator"));
    }

    @Test
    void rejectsWrongSignatureExpiryGarbageAndMissingCompanies() {
        assertThatThrownBy(() -> verifier.verify(TestTokens.mintWith("some-other-secret-also-32-bytes-long!!", "a", List.of("acme"), List.of(), Instant.now().plusSeconds(60))))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("token_invalid"));
        assertThatThrownBy(() -> verifier.verify(TestTokens.mintWith(SECRET, "a", List.of("acme"), List.of(), Instant.now().minusSeconds(1))))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("token_expired"));
        assertThatThrownBy(() -> verifier.verify("not.a.jwt"))
                .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.status()).isEqualTo(401));
        assertThatThrownBy(() -> verifier.verify(TestTokens.mintWith(SECRET, "a", List.of(), List.of(), Instant.now().plusSeconds(60))))
                .hasMessageContaining("grants no company");
        assertThatThrownBy(() -> verifier.verify(TestTokens.mintWith(SECRET, "a", List.of("bad company!"), List.of(), Instant.now().plusSeconds(60))))
                .hasMessageContaining("does not match");
    }

    private static String rs256(RSAKey key, String company) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("idp-user").claim("companies", List.of(company))
                .issuer(ISSUER).audience(List.of("some-other-app", AUDIENCE))
                .expirationTime(java.util.Date.from(Instant.now().plusSeconds(60))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    @Test
    void acceptsRs256TokensSignedByAKeyOfTheJwksUrl() throws Exception {
        RSAKey idpKey = new RSAKeyGenerator(2048).keyID("idp-1").generate();
        RSAKey otherKey = new RSAKeyGenerator(2048).keyID("idp-1").generate();
        byte[] jwks = new JWKSet(idpKey.toPublicJWK()).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        HttpServer idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        idp.createContext("/jwks.json", ex -> {
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, jwks.length);
            ex.getResponseBody().write(jwks);
            ex.close();
        });
        idp.start();
        try {
            JwtVerifier withJwks = new JwtVerifier(JwtSettings.hs256(SECRET).withIssuerAndAudience(ISSUER, Set.of(AUDIENCE))
                    .withJwks("http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks.json"), Clock.systemUTC());
            Principal p = withJwks.verify(rs256(idpKey, "acme"));
            assertThat(p.subject()).isEqualTo("idp-user");
            assertThat(p.grants("acme")).isTrue();
            assertThatThrownBy(() -> withJwks.verify(rs256(otherKey, "acme")))
                    .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("token_invalid"));
            // HS256 keeps working next to it (held to the same iss/aud)
            assertThat(withJwks.verify(hs256(SECRET, claims().issuer(ISSUER).audience(AUDIENCE))).subject()).isEqualTo("a");
            assertThatThrownBy(() -> withJwks.verify(TestTokens.mintWith(SECRET, "a", List.of("acme"), List.of(), Instant.now().plusSeconds(60))))
                    .as("an HS256 token without iss/aud").hasMessageContaining("iss");
            // without JWT_JWKS_URL an RS256 token is refused with what to configure
            assertThatThrownBy(() -> verifier.verify(rs256(idpKey, "acme"))).hasMessageContaining("JWT_JWKS_URL");
        } finally {
            idp.stop(0);
        }
    }

    /** sub a, company acme, iat now, exp in a minute: each rule's test changes one thing. */
    private static JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().subject("a").claim("companies", List.of("acme"))
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(60)));
    }

    private static String hs256(String secret, JWTClaimsSet.Builder claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void refused(JwtVerifier v, String token, String error, String messagePart) {
        assertThatThrownBy(() -> v.verify(token)).isInstanceOfSatisfying(ApiError.class, e -> {
            assertThat(e.status()).isEqualTo(401);
            assertThat(e.error()).isEqualTo(error);
            assertThat(e.getMessage()).contains(messagePart);
        });
    }

    @Test
    void notBeforeIsHonouredWithTheConfiguredSkew() {
        Instant now = Instant.now();
        refused(verifier, hs256(SECRET, claims().notBeforeTime(Date.from(now.plus(Duration.ofDays(365))))), "token_not_yet_valid", "before use time");
        refused(verifier, hs256(SECRET, claims().notBeforeTime(Date.from(now.plusSeconds(45)))), "token_not_yet_valid", "before use time");
        // a clock 10 s behind the issuer's is within the default 30 s skew
        assertThat(verifier.verify(hs256(SECRET, claims().notBeforeTime(Date.from(now.plusSeconds(10))))).subject()).isEqualTo("a");
        JwtVerifier noSkew = new JwtVerifier(new JwtSettings(SECRET, "", "", Set.of(), Duration.ZERO, JwtSettings.DEFAULT_MAX_LIFETIME), Clock.systemUTC());
        refused(noSkew, hs256(SECRET, claims().notBeforeTime(Date.from(now.plusSeconds(10)))), "token_not_yet_valid", "before use time");
    }

    @Test
    void expiryIsExactAndJudgedByTheGatewaysClock() {
        Instant now = Instant.now();
        // within Nimbus' skew, yet expired: an open stream ended at exp, its reconnect must not get in again
        refused(verifier, hs256(SECRET, claims().expirationTime(Date.from(now.minusSeconds(1)))), "token_expired", "expired");
        refused(verifier, hs256(SECRET, claims().expirationTime(Date.from(now.minusSeconds(3600)))), "token_expired", "expired");
        JwtVerifier later = new JwtVerifier(SECRET, Clock.fixed(now.plusSeconds(120), ZoneOffset.UTC));
        refused(later, hs256(SECRET, claims()), "token_expired", "expired");
        JwtVerifier earlier = new JwtVerifier(SECRET, Clock.fixed(now.minusSeconds(120), ZoneOffset.UTC));
        refused(earlier, hs256(SECRET, claims().notBeforeTime(Date.from(now))), "token_not_yet_valid", "before use time");
    }

    @Test
    void issuerAndAudienceAreRequiredWhenConfigured() {
        JwtVerifier strict = new JwtVerifier(JwtSettings.hs256(SECRET).withIssuerAndAudience(ISSUER, Set.of(AUDIENCE, "csr-admin")), Clock.systemUTC());
        assertThat(strict.verify(hs256(SECRET, claims().issuer(ISSUER).audience(AUDIENCE))).subject()).isEqualTo("a");
        assertThat(strict.verify(hs256(SECRET, claims().issuer(ISSUER).audience(List.of("other", "csr-admin")))).subject()).isEqualTo("a");
        refused(strict, hs256(SECRET, claims().audience(AUDIENCE)), "token_invalid", "iss");
        refused(strict, hs256(SECRET, claims().issuer("https://evil.example").audience(AUDIENCE)), "token_invalid", "iss");
        refused(strict, hs256(SECRET, claims().issuer(ISSUER)), "token_invalid", "aud");
        refused(strict, hs256(SECRET, claims().issuer(ISSUER).audience("another-application")), "token_invalid", "audience");
        // without the rules configured, neither claim is looked at
        assertThat(verifier.verify(hs256(SECRET, claims().issuer("anyone").audience("anything"))).subject()).isEqualTo("a");
    }

    @Test
    void jwksWithoutIssuerAndAudienceRefusesToStart() {
        assertThatThrownBy(() -> JwtSettings.hs256(SECRET).withJwks("https://idp.example/jwks.json"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JWT_ISSUER").hasMessageContaining("JWT_AUDIENCE");
        assertThatThrownBy(() -> JwtSettings.hs256(SECRET).withIssuerAndAudience(ISSUER, Set.of()).withJwks("https://idp.example/jwks.json"))
                .hasMessageContaining("missing: JWT_AUDIENCE");
        assertThatThrownBy(() -> JwtSettings.hs256(SECRET).withIssuerAndAudience("", Set.of(AUDIENCE)).withJwks("https://idp.example/jwks.json"))
                .hasMessageContaining("missing: JWT_ISSUER");
    }

    @Test
    void aTokenMayNotLiveLongerThanTheMaximum() {
        Instant now = Instant.now();
        JwtVerifier day = new JwtVerifier(JwtSettings.hs256(SECRET).withMaxLifetime(Duration.ofDays(1)), Clock.systemUTC());
        assertThat(day.verify(hs256(SECRET, claims().expirationTime(Date.from(now.plus(Duration.ofHours(23)))))).subject()).isEqualTo("a");
        refused(day, hs256(SECRET, claims().expirationTime(Date.from(now.plus(Duration.ofDays(2))))), "token_invalid", "JWT_MAX_LIFETIME_SECONDS");
        // no iat: measured from now
        refused(day, hs256(SECRET, claims().issueTime(null).expirationTime(Date.from(now.plus(Duration.ofDays(2))))), "token_invalid", "now");
        // an old iat does not buy a long life: exp - iat counts
        refused(day, hs256(SECRET, claims().issueTime(Date.from(now.minus(Duration.ofDays(3)))).expirationTime(Date.from(now.plusSeconds(60)))),
                "token_invalid", "JWT_MAX_LIFETIME_SECONDS");
        // the finding's exp = 10^17 under the default (30 days)
        refused(verifier, hs256(SECRET, claims().expirationTime(new Date(100_000_000_000_000_000L))), "token_invalid", "JWT_MAX_LIFETIME_SECONDS");
    }

    @Test
    void onlyCanonicalBase64urlIsAccepted() {
        String good = hs256(SECRET, claims());
        assertThat(verifier.verify(good).subject()).isEqualTo("a");
        refused(verifier, good + "=", "token_invalid", "canonical");
        refused(verifier, good + "==", "token_invalid", "canonical");
        String[] parts = good.split("\\.");
        refused(verifier, parts[0] + "=." + parts[1] + "." + parts[2], "token_invalid", "canonical");
        refused(verifier, parts[0] + "." + parts[1] + "." + parts[2].substring(0, 5) + "/" + parts[2].substring(6), "token_invalid", "canonical");
        refused(verifier, " " + good, "token_invalid", "canonical");
        // a 32-byte HMAC is 43 base64url characters, the last carrying 2 spare bits: setting one spells the same bytes
        char last = parts[2].charAt(parts[2].length() - 1);
        String alias = "AEIMQUYcgkosw048".indexOf(last) >= 0 ? String.valueOf((char) (last + 1)) : null;
        if (alias != null) {
            refused(verifier, parts[0] + "." + parts[1] + "." + parts[2].substring(0, parts[2].length() - 1) + alias, "token_invalid", "canonical");
        }
    }
}
