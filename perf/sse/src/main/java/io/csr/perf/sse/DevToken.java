package io.csr.perf.sse;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.config.ConfigKey;

import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;

/** An HS256 token for one company, signed with JWT_SECRET (the gateway's default when unset), valid for an hour. */
public final class DevToken {
    private DevToken() {
    }

    public static String secretFromEnvironment() {
        return System.getenv().getOrDefault("JWT_SECRET", ConfigKey.JWT_SECRET.defaultValue());
    }

    public static String forCompany(String secret, String company) {
        return forCompany(secret, company, List.of());
    }

    /** A token of one company with {@code roles} (e.g. {@code admin}, which cohort management requires). */
    public static String forCompany(String secret, String company, List<String> roles) {
        try {
            JWTClaimsSet.Builder b = new JWTClaimsSet.Builder()
                    .subject("bench-" + company)
                    .claim("companies", List.of(company));
            if (!roles.isEmpty()) {
                b.claim("roles", roles);
            }
            JWTClaimsSet claims = b
                    .expirationTime(new Date(System.currentTimeMillis() + 3_600_000L))
                    .issueTime(new Date())
                    .build();
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot sign a bench token with JWT_SECRET (" + e.getMessage()
                    + "); it must be at least 32 bytes for HS256", e);
        }
    }
}
