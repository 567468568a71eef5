package io.csr.gateway.analytics;

import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.config.ConfigKey;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The "### curl" block of docs/analytics.md runs as written (address and tokens swapped for this test's gateway, the
 * {@code bin/csr refresh-views} line done by the same Java call), with the documented participants.csv beside it.
 */
class AnalyticsDocsCurlITCase {
    @Test
    void theDocumentedCommandsAnswerWhatTheDocsSay(@TempDir Path dir) throws Exception {
        String docs = Files.readString(Migrations.sqlRoot().getParent().resolve("docs/analytics.md"));
        Matcher csv = Pattern.compile("### curl \\(analytics views\\).*?```csv\\n(.*?)```", Pattern.DOTALL).matcher(docs);
        assertThat(csv.find()).as("docs/analytics.md has the participants.csv example").isTrue();
        Files.writeString(dir.resolve("participants.csv"), csv.group(1));
        Matcher sh = Pattern.compile("### curl \\(analytics views\\).*?```sh\\n(.*?)```", Pattern.DOTALL).matcher(docs);
        assertThat(sh.find()).as("docs/analytics.md has a ### curl block").isTrue();
        List<String> lines = new ArrayList<>(List.of(sh.group(1).split("\n")));
        assertThat(lines).contains("bin/csr refresh-views");

        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "0"))) {
            AnalyticsViewRefresher refresher = new AnalyticsViewRefresher(PostgresSettings.from(fx.config), Duration.ofSeconds(10));
            List<String> outputs = new ArrayList<>();
            for (String line : lines) {
                if (line.equals("bin/csr refresh-views")) {
                    assertThat(refresher.refresh("docs").status()).isEqualTo("ok");
                } else if (line.startsWith("curl ")) {
                    outputs.add(run(fx, dir, line));
                }
            }
            assertThat(outputs).hasSize(7);
            assertThat(outputs.get(0)).contains("\"userId\":\"u1\"").contains("\"languageGroup\":\"de\"");
            assertThat(outputs.get(1)).contains("\"imported\":2").contains("\"failed\":1").contains("\"line\":4").contains("\"field\":\"enrolledOn\"");
            assertThat(outputs.get(2)).contains("\"total\":2").contains("\"u1\"").contains("\"u2\"").doesNotContain("\"u3\"");
            assertThat(outputs.get(3)).contains("\"companyId\":\"acme\"").contains("\"participants\":2").contains("\"participantsEver\":3");
            assertThat(outputs.get(4)).contains("\"programme\":\"language\"").contains("\"programme\":\"mentoring\"").contains("\"completed\":1");
            assertThat(outputs.get(5)).contains("\"languageGroup\":\"de\"").contains("\"languageGroup\":\"fr\"");
            assertThat(outputs.get(6)).contains("\"stages\":[]").contains("\"participants\":2");
        }
    }

    private static String run(GatewayFixture fx, Path dir, String documented) throws Exception {
        String cmd = documented.replace("http://127.0.0.1:8080", fx.base()).replaceFirst("^curl ", "curl --max-time 10 ");
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("T", fx.tokens.forCompany("acme"));
        pb.environment().put("A", fx.tokens.admin(List.of("acme")));
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("curl ended: %s", cmd).isTrue();
        return out;
    }
}
