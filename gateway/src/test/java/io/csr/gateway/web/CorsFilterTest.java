package io.csr.gateway.web;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CorsFilterTest {
    @Test
    void parsesExactOriginsTheWayBrowsersSendThem() {
        CorsFilter f = CorsFilter.fromAllowedOrigins(" https://Cockpit.Example.com , http://127.0.0.1:3000,https://a.example:443,");
        assertThat(f.allowedOrigins()).containsExactlyInAnyOrder("https://cockpit.example.com", "http://127.0.0.1:3000", "https://a.example");
        assertThat(CorsFilter.fromAllowedOrigins("").allowedOrigins()).isEmpty();
        assertThat(CorsFilter.fromAllowedOrigins(null).allowedOrigins()).isEmpty();
    }

    @Test
    void refusesWhatIsNotAnExactOriginNamingTheEntry() {
        for (String bad : new String[] {"*", "null", "cockpit.example.com", "https://cockpit.example.com/", "https://x.example/app",
                "ftp://x.example", "https://u:p@x.example", "https://x.example?q=1"}) {
            assertThatThrownBy(() -> CorsFilter.fromAllowedOrigins("http://ok.example," + bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'")
                    .hasMessageContaining("CORS_ALLOWED_ORIGINS takes exact origins like");
        }
    }
}
