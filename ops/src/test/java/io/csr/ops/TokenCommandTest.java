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
        assertThatThrownBy(() -> runToken("--admin")).hasMessageContaining("admin of those companies only");
        String both = runToken("--company", "acme", "--admin", "--operator");
        assertThat(SignedJWT.parse(both.strip()).getJWTClaimsSet().getStringListClaim("roles")).containsExactly("admin", "operator");
    }

    private static String runToken(String... args) {
        java.io.PrintStream old = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            new TokenCommand().run(io.csr.common.config.CsrConfig.of(java.util.Map.of()), args);
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void ttlUnits() {
        assertThat(TokenCommand.parseTtl("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(TokenCommand.parseTtl("30m")).isEqualTo(Duration.ofMinutes(30));
        assertThat(TokenCommand.parseTtl("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(TokenCommand.parseTtl("7d")).isEqualTo(Duration.ofDays(7));
        assertThatThrownBy(() -> TokenCommand.parseTtl("1 week")).hasMessageContaining("--ttl");
    }
}
