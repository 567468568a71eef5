package io.csr.gateway.auth;

import io.csr.gateway.TestTokens;
import io.csr.gateway.http.ApiError;
import org.junit.jupiter.api.Test;

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
        assertThat(p.admin()).isTrue();
        assertThat(p.grants("acme")).isTrue();
        assertThat(p.grants("initech")).isFalse();
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
}
