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
        SignedJWT jwt = SignedJWT.parse(TokenCommand.mint(secret, "dev", List.of("acme", "globex"), true, exp));
        assertThat(jwt.verify(new MACVerifier(secret.getBytes(StandardCharsets.UTF_8)))).isTrue();
        assertThat(jwt.getJWTClaimsSet().getStringListClaim("companies")).containsExactly("acme", "globex");
        assertThat(jwt.getJWTClaimsSet().getStringListClaim("roles")).containsExactly("admin");
        assertThat(jwt.getJWTClaimsSet().getExpirationTime().toInstant().getEpochSecond()).isEqualTo(exp.getEpochSecond());
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
