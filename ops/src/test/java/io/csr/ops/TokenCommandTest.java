package io.csr.ops;

import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.config.ConfigKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenCommandTest {
    @Test
    void mintsAnHs256TokenWithTheGatewayClaims() throws Exception {
        String secret = ConfigKey.JWT_SECRET.defaultValue();
        Instant exp = Instant.now().plus(Duration.ofHours(1));
        SignedJWT jwt = SignedJWT.parse(TokenCommand.mint(secret, "dev", List.of("acme", "globex"), List.of("admin"), exp));
        assertThat(jwt.verify(new MACVerifier(secret.getBytes(StandardCharsets.UTF_8)))).isTrue();
        assertThat(jwt.getJWTClaimsSet().getStringListClaim("companies")).containsExactly("acme", "globex");
        assertThat(jwt.getJWTClaimsSet().getStringListClaim("roles")).containsExactly("admin");
        assertThat(jwt.getJWTClaimsSet().getExpirationTime().toInstant().getEpochSecond()).isEqualTo(exp.getEpochSecond());
    }

    @Test
    void operatorTokensMayComeWithoutACompanyAdminTokensMayNot() throws Exception {
        String out = runToken("--operator", "--ttl", "5m");
        assertThat(SignedJWT.parse(out.strip()).getJWTClaimsSet().getStringListClaim("roles")).containsExactly("operator");
        assertThat(SignedJWT.parse(out.strip()).getJWTClaimsSet().getStringListClaim("companies")).isEmpty();
        CliRun admin = CliRun.of("token", "--admin");
        assertThat(admin.exit()).isEqualTo(2);
        assertThat(admin.err()).contains("admin of those companies only");
        String both = runToken("--company", "acme", "--admin", "--operator");
        assertThat(SignedJWT.parse(both.strip()).getJWTClaimsSet().getStringListClaim("roles")).containsExactly("admin", "operator");
    }

    @Test
    void mintsTheConfiguredIssuerAndAudienceAndKeepsToTheMaximumLifetime() throws Exception {
        java.util.Map<String, String> cfg = java.util.Map.of("JWT_ISSUER", "https://idp.example", "JWT_AUDIENCE", "csr-gateway,csr-admin",
                "JWT_MAX_LIFETIME_SECONDS", "86400");
        var claims = SignedJWT.parse(runToken(cfg, "--company", "acme", "--ttl", "1h").strip()).getJWTClaimsSet();
        assertThat(claims.getIssuer()).isEqualTo("https://idp.example");
        assertThat(claims.getAudience()).containsExactly("csr-gateway");
        CliRun tooLong = CliRun.of(cfg, "token", "--company", "acme", "--ttl", "2d");
        assertThat(tooLong.exit()).isEqualTo(2);
        assertThat(tooLong.err()).contains("JWT_MAX_LIFETIME_SECONDS=86400");
    }

    private static String runToken(String... args) {
        return runToken(java.util.Map.of(), args);
    }

    private static String runToken(java.util.Map<String, String> config, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "token";
        System.arraycopy(args, 0, all, 1, args.length);
        CliRun r = CliRun.of(config, all);
        assertThat(r.exit()).as(r.err()).isZero();
        return r.out();
    }

    @Test
    void ttlUnits() {
        assertThat(TokenCommand.parseTtl("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(TokenCommand.parseTtl("30m")).isEqualTo(Duration.ofMinutes(30));
        assertThat(TokenCommand.parseTtl("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(TokenCommand.parseTtl("7d")).isEqualTo(Duration.ofDays(7));
        assertThatThrownBy(() -> TokenCommand.parseTtl("1 week")).hasMessageContaining("--ttl");
        CliRun week = CliRun.of("token", "--company", "acme", "--ttl", "1 week");
        assertThat(week.exit()).isEqualTo(2);
        assertThat(week.err()).contains("'1 week' is not a lifetime; give 90s, 30m, 1h or 7d");
    }
}
