package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.csr.gateway.cohort.CohortAnalyticsITCase.cohort;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.insertAsWritten;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.member;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.obs;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The curl lines of docs/analytics.md ("### curl") run as written, in order, against a gateway on a seeded database;
 * only the address and the tokens ($A admin of acme, $T viewer of acme) are the test's. Each line's expected status
 * is the number after "# ->"; JSON answers must parse, and the metrics line must show the seeded figures.
 */
class DocsAnalyticsCurlITCase {
    private static final Pattern EXPECTED = Pattern.compile("#\\s*->\\s*(\\d{3})\\s*$");
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of());
        ch = fx.clickHouse(); // dropped by fx.close()
        // the documented cohorts 1 and 2 of acme, their members and observations
        insertAsWritten(ch, List.of(cohort(1, "acme", "Mentors 2026", 0, 1), cohort(2, "acme", "Learners 2026", 0, 1)),
                List.of(member(1, "acme", "u1", 1, 1), member(1, "acme", "u2", 1, 1), member(2, "acme", "u3", 1, 1)),
                List.of(obs("acme", "sroi", "u1", "2026-01-05 09:00:00", 2, "d1"), obs("acme", "sroi", "u2", "2026-01-12 09:00:00", 4, "d2"),
                        obs("acme", "sroi", "u1", "2026-01-20 09:00:00", 6, "d3"), obs("acme", "sroi", "u3", "2026-01-20 09:00:00", 10, "d4")));
    }

    @Test
    void everyDocumentedCommandAnswersAsDocumented() throws Exception {
        String docs = Files.readString(Migrations.sqlRoot().getParent().resolve("docs/analytics.md"));
        Matcher block = Pattern.compile("### curl\\s.*?```sh\\n(.*?)```", Pattern.DOTALL).matcher(docs);
        assertThat(block.find()).as("docs/analytics.md has a ### curl block").isTrue();
        List<String> lines = new ArrayList<>();
        for (String line : block.group(1).split("\n")) {
            if (line.startsWith("curl ")) {
                lines.add(line);
            }
        }
        assertThat(lines).as("management, the five endpoints, audit and the error examples").hasSizeGreaterThanOrEqualTo(15);
        String admin = fx.tokens.admin(List.of("acme"));
        String viewer = fx.tokens.forCompany("acme");
        int figuresChecked = 0;
        int createdChecked = 0;
        for (String line : lines) {
            Matcher m = EXPECTED.matcher(line);
            assertThat(m.find()).as("line states its status with '# -> NNN': %s", line).isTrue();
            int expected = Integer.parseInt(m.group(1));
            String out = run(line, admin, viewer);
            int nl = out.lastIndexOf('\n');
            int status = Integer.parseInt(out.substring(nl + 1).trim());
            String body = out.substring(0, Math.max(0, nl));
            assertThat(status).as("%s%n answered: %s", line, body).isEqualTo(expected);
            if (status != 204) {
                JsonNode json = Json.mapper().readTree(body);
                assertThat(json.isObject()).as(body).isTrue();
                if (status >= 400) {
                    assertThat(json.has("error") && json.has("message")).as(body).isTrue();
                }
            }
            if (line.contains("/cohort/1/metrics?metric=sroi&startDate=2026-01-01")) {
                JsonNode json = Json.mapper().readTree(body);
                assertThat(json.get("count").asLong()).isEqualTo(3);
                assertThat(json.get("avg").asDouble()).isEqualTo(4.0);
                assertThat(json.get("p50").asDouble()).isCloseTo(4.0, org.assertj.core.api.Assertions.withinPercentage(1));
                figuresChecked++;
            }
            if (line.contains("-X POST") && line.contains("/cohorts\"") && createdChecked == 0) {
                assertThat(Json.mapper().readTree(body).get("id").asLong()).as("the documented cohort id 1").isEqualTo(1);
                createdChecked++;
            }
        }
        // the figures above are checked only on the lines that carry them: those lines must exist in the docs
        assertThat(figuresChecked).as("docs/analytics.md has the cohort 1 sroi metrics line whose seeded figures are checked").isEqualTo(1);
        assertThat(createdChecked).as("docs/analytics.md has the POST /cohorts line whose id is checked").isPositive();
    }

    /** One documented line with bash: the test's address and tokens, status code appended on its own line. */
    private static String run(String documented, String admin, String viewer) throws Exception {
        String cmd = documented.replace("http://127.0.0.1:8080", fx.base())
                .replaceFirst("^curl ", "curl --max-time 10 -w '\\\\n%{http_code}' ");
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("A", admin);
        pb.environment().put("T", viewer);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("curl ended: %s", cmd).isTrue();
        return out;
    }
}
