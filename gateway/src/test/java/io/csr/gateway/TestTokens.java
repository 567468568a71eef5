package io.csr.gateway;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/** Mints HS256 tokens for tests, the way {@code bin/csr token} does. */
public final class TestTokens {
    private final String secret;

    public TestTokens(String secret) {
        this.secret = secret;
    }

    public String forCompany(String companyId, Duration ttl) {
        return mint("user-" + companyId, List.of(companyId), List.of(), Instant.now().plus(ttl));
    }

    public String forCompany(String companyId) {
        return forCompany(companyId, Duration.ofHours(1));
    }

    public String admin(List<String> companies) {
        return mint("admin", companies, List.of("admin"), Instant.now().plus(Duration.ofHours(1)));
    }

    /** Role operator: the platform's staff (platform-wide views); may grant no company at all. */
    public String operator(List<String> companies) {
        return mint("operator", companies, List.of("operator"), Instant.now().plus(Duration.ofHours(1)));
    }

    public String mint(String sub, List<String> companies, List<String> roles, Instant exp) {
        return mintWith(secret, sub, companies, roles, exp);
    }

    public static String mintWith(String secret, String sub, List<String> companies, List<String> roles, Instant exp) {
        try {
            JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(sub).claim("companies", companies).claim("roles", roles)
                    .issueTime(new Date()).expirationTime(Date.from(exp)).build();
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
