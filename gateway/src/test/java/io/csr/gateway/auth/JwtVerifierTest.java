package io.csr.gateway.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
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
import java.time.Clock;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JwtVerifierTest {
    private static final String SECRET = "unit-test-secret-with-at-least-32-bytes!!";
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
            JwtVerifier withJwks = new JwtVerifier(SECRET, "http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks.json", Clock.systemUTC());
            Principal p = withJwks.verify(rs256(idpKey, "acme"));
            assertThat(p.subject()).isEqualTo("idp-user");
            assertThat(p.grants("acme")).isTrue();
            assertThatThrownBy(() -> withJwks.verify(rs256(otherKey, "acme")))
                    .isInstanceOfSatisfying(ApiError.class, e -> assertThat(e.error()).isEqualTo("token_invalid"));
            // HS256 keeps working next to it
            assertThat(withJwks.verify(TestTokens.mintWith(SECRET, "a", List.of("acme"), List.of(), Instant.now().plusSeconds(60))).subject()).isEqualTo("a");
            // without JWT_JWKS_URL an RS256 token is refused with what to configure
            assertThatThrownBy(() -> verifier.verify(rs256(idpKey, "acme"))).hasMessageContaining("JWT_JWKS_URL");
        } finally {
            idp.stop(0);
        }
    }
}
