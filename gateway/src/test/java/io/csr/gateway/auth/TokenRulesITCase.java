package io.csr.gateway.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.GatewaySettings;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The token rules over real HTTP, on a write (creating a cohort): a gateway with {@code JWT_ISSUER},
 * {@code JWT_AUDIENCE} and a one-hour {@code JWT_MAX_LIFETIME_SECONDS} refuses a token valid only next year, one for
 * another audience or issuer, one that lives too long and one with a padded signature — each with 401 naming the rule —
 * and takes a token that keeps every rule. With {@code JWT_JWKS_URL} but no issuer or audience it does not start.
 */
class TokenRulesITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String ISSUER = "https://idp.example";
    private static final String AUDIENCE = "csr-gateway";
    private static final String COMPANY = "rules";

    private static JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().subject("ana").claim("companies", List.of(COMPANY)).claim("roles", List.of("admin"))
                .issuer(ISSUER).audience(AUDIENCE).issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(30))));
    }

    private static String sign(JWTClaimsSet.Builder claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
        jwt.sign(new MACSigner(GatewayFixture.SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static HttpResponse<String> createCohort(GatewayFixture fx, String token, String name) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/cohorts")).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyRuleIsAppliedOverHttp() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.JWT_ISSUER.name(), ISSUER, ConfigKey.JWT_AUDIENCE.name(), AUDIENCE + ",csr-admin",
                ConfigKey.JWT_MAX_LIFETIME_SECONDS.name(), "3600"))) {
            Instant now = Instant.now();
            Map<String, JWTClaimsSet.Builder> refused = Map.of(
                    "token_not_yet_valid", claims().notBeforeTime(Date.from(now.plus(Duration.ofDays(365))))
                            .expirationTime(Date.from(now.plus(Duration.ofDays(365)).plusSeconds(600))).issueTime(Date.from(now.plus(Duration.ofDays(365)))),
                    "aud", claims().audience("another-application"),
                    "iss", claims().issuer("https://other-idp.example"),
                    "JWT_MAX_LIFETIME_SECONDS", claims().expirationTime(new Date(100_000_000_000_000_000L)));
            for (Map.Entry<String, JWTClaimsSet.Builder> e : refused.entrySet()) {
                HttpResponse<String> res = createCohort(fx, sign(e.getValue()), "refused-" + e.getKey());
                assertThat(res.statusCode()).as(e.getKey()).isEqualTo(401);
                assertThat(res.body()).as(e.getKey()).contains(e.getKey());
            }
            String good = sign(claims());
            HttpResponse<String> padded = createCohort(fx, good + "=", "padded");
            assertThat(padded.statusCode()).isEqualTo(401);
            assertThat(padded.body()).contains("canonical");
            assertThat(createCohort(fx, good, "kept-every-rule").statusCode()).isEqualTo(201);
            assertThat(createCohort(fx, sign(claims().audience(List.of("x", "csr-admin"))), "second-audience").statusCode()).isEqualTo(201);
        }
    }

    @Test
    void withJwksTheGatewayRefusesToStartWithoutIssuerAndAudience() {
        CsrConfig config = CsrConfig.fromEnvironment().with(Map.of(ConfigKey.JWT_SECRET.name(), GatewayFixture.SECRET,
                ConfigKey.JWT_JWKS_URL.name(), "https://idp.example/.well-known/jwks.json", ConfigKey.JWT_ISSUER.name(), ISSUER));
        assertThatThrownBy(() -> GatewaySettings.from(config)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("JWT_AUDIENCE");
    }
}
