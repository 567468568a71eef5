package io.csr.gateway.auth;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * How tokens are verified, read once from the configuration: the HS256 secret, the optional JWKS of an identity
 * provider (RS256), the required issuer and audiences, the clock skew allowed for {@code nbf} and the longest lifetime
 * a token may have.
 *
 * @param issuer    required {@code iss} (exact), empty = not checked
 * @param audiences accepted {@code aud} values (a token must name one), empty = not checked
 */
public record JwtSettings(String secret, String jwksUrl, String issuer, Set<String> audiences, Duration clockSkew, Duration maxLifetime) {
    public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofDays(30);

    public JwtSettings {
        audiences = Set.copyOf(audiences);
        int bytes = secret.getBytes(StandardCharsets.UTF_8).length;
        if (bytes < 32) {
            throw new IllegalArgumentException("JWT_SECRET must be at least 32 bytes for HS256 (it has " + bytes
                    + "); generate one with: openssl rand -base64 48");
        }
        if (!jwksUrl.isEmpty() && (issuer.isEmpty() || audiences.isEmpty())) {
            // an identity provider signs tokens for every application it serves: without iss and aud, any of them would do
            throw new IllegalArgumentException("JWT_JWKS_URL is set, so JWT_ISSUER and JWT_AUDIENCE must be set too (missing: "
                    + (issuer.isEmpty() ? "JWT_ISSUER" : "") + (issuer.isEmpty() && audiences.isEmpty() ? ", " : "")
                    + (audiences.isEmpty() ? "JWT_AUDIENCE" : "") + "): set them to the issuer your identity provider writes into"
                    + " iss and to the audience it issues this gateway's tokens for, or the gateway would accept a token the provider"
                    + " issued for any other application");
        }
        if (clockSkew.isNegative() || maxLifetime.isNegative() || maxLifetime.isZero()) {
            throw new IllegalArgumentException("JWT_CLOCK_SKEW_SECONDS must be >= 0 and JWT_MAX_LIFETIME_SECONDS > 0");
        }
    }

    /** HS256 with {@code secret} only, no iss/aud rules, default skew and lifetime (tests, tools). */
    public static JwtSettings hs256(String secret) {
        return new JwtSettings(secret, "", "", Set.of(), DEFAULT_CLOCK_SKEW, DEFAULT_MAX_LIFETIME);
    }

    public static JwtSettings from(CsrConfig c) {
        Set<String> audiences = new LinkedHashSet<>();
        Arrays.stream(c.get(ConfigKey.JWT_AUDIENCE).split(",")).map(String::trim).filter(a -> !a.isEmpty()).forEach(audiences::add);
        return new JwtSettings(c.require(ConfigKey.JWT_SECRET), c.get(ConfigKey.JWT_JWKS_URL).trim(), c.get(ConfigKey.JWT_ISSUER).trim(),
                audiences, Duration.ofSeconds(c.getLong(ConfigKey.JWT_CLOCK_SKEW_SECONDS, 0, 3600)),
                Duration.ofSeconds(c.getLong(ConfigKey.JWT_MAX_LIFETIME_SECONDS, 1, 10L * 366 * 86_400)));
    }

    public JwtSettings withIssuerAndAudience(String iss, Set<String> aud) {
        return new JwtSettings(secret, jwksUrl, iss, aud, clockSkew, maxLifetime);
    }

    public JwtSettings withJwks(String url) {
        return new JwtSettings(secret, url, issuer, audiences, clockSkew, maxLifetime);
    }

    public JwtSettings withMaxLifetime(Duration max) {
        return new JwtSettings(secret, jwksUrl, issuer, audiences, clockSkew, max);
    }
}
