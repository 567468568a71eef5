package io.csr.gateway.limits;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Per-company rate limits over real HTTP, charged before any database work on every endpoint that reads a database:
 * the cohort API ({@code COHORT_RATE_LIMIT_PER_MINUTE}; a non-existent cohort id over the limit is a 429, not a 404,
 * and the 404s before it are audited) and /stream/snapshot, /analytics/*, /participants* ({@code
 * API_RATE_LIMIT_PER_MINUTE}). A token of several companies must name the one it acts for, and only that one is
 * charged. With ClickHouse unreachable, a call within the limit fails on its query (503) while one over the limit is a
 * 429: no query was attempted.
 */
class RateLimitsITCase {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String MISSING_COHORT = "/cohort/987654321/metrics?metric=hours&startDate=2026-11-01&endDate=2026-11-30";

    private static HttpResponse<String> send(GatewayFixture fx, String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fx.base() + path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(GatewayFixture fx, String path, String token) throws Exception {
        return send(fx, "GET", path, token, null);
    }

    private static void assertRateLimited(HttpResponse<String> res, String key) {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(429);
        assertThat(res.body()).contains("rate_limited", key);
        assertThat(res.headers().firstValue("Retry-After").map(Integer::parseInt).orElse(0)).isPositive();
    }

    @Test
    void chargedBeforeTheDatabaseToTheOneCompanyTheCallActsFor() throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "4",
                ConfigKey.API_RATE_LIMIT_PER_MINUTE.name(), "3"));
             ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(fx.config))) {
            ch.createDatabaseIfMissing();
            Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
            try {
                String a = fx.tokens.forCompany("rla");
                String ab = fx.tokens.admin(List.of("rla", "rlb"));

                // a token of two companies must say which one it acts for: 400, nothing charged
                HttpResponse<String> ambiguous = get(fx, MISSING_COHORT, ab);
                assertThat(ambiguous.statusCode()).isEqualTo(400);
                assertThat(ambiguous.body()).contains("company_required", "companyId");

                for (int i = 0; i < 4; i++) {
                    assertThat(get(fx, MISSING_COHORT, a).statusCode()).as("call %d within the limit", i + 1).isEqualTo(404);
                }
                assertRateLimited(get(fx, MISSING_COHORT, a), "COHORT_RATE_LIMIT_PER_MINUTE");
                assertRateLimited(get(fx, MISSING_COHORT + "&companyId=rla", ab), "COHORT_RATE_LIMIT_PER_MINUTE");
                // the same token acting for its other company draws on that company's budget only
                assertThat(get(fx, MISSING_COHORT + "&companyId=rlb", ab).statusCode()).isEqualTo(404);
                assertThat(get(fx, "/cohorts?companyId=rlb", ab).statusCode()).isEqualTo(200);
                assertThat(get(fx, "/cohorts", ab).statusCode()).as("listing acts for one company too").isEqualTo(400);

                // the 404s were audited (company and the id asked for), the 429s were not
                await().atMost(Duration.ofSeconds(20)).until(() -> auditStatuses(fx, "rla").size() >= 4);
                assertThat(auditStatuses(fx, "rla")).containsOnly(404).hasSize(4);

                // snapshot, analytics and participants share API_RATE_LIMIT_PER_MINUTE per company
                for (int i = 0; i < 3; i++) {
                    assertThat(get(fx, "/stream/snapshot", a).statusCode()).isEqualTo(200);
                }
                assertRateLimited(get(fx, "/stream/snapshot", a), "API_RATE_LIMIT_PER_MINUTE");
                assertRateLimited(get(fx, "/analytics/company", a), "API_RATE_LIMIT_PER_MINUTE");
                String admin = fx.tokens.admin(List.of("rlc"));
                assertThat(get(fx, "/analytics/programmes", admin).statusCode()).isEqualTo(200);
                assertThat(get(fx, "/participants", admin).statusCode()).isEqualTo(200);
                assertThat(send(fx, "PUT", "/participants/u1", admin, "{\"programme\":\"p\",\"enrolledOn\":\"2026-01-05\"}").statusCode()).isEqualTo(200);
                assertRateLimited(send(fx, "PUT", "/participants/u2", admin, "{\"programme\":\"p\",\"enrolledOn\":\"2026-01-05\"}"),
                        "API_RATE_LIMIT_PER_MINUTE");
                assertRateLimited(send(fx, "POST", "/participants:import", admin, "userId,programme,enrolledOn\nu3,p,2026-01-05\n"),
                        "API_RATE_LIMIT_PER_MINUTE");
                assertRateLimited(get(fx, "/participants", admin), "API_RATE_LIMIT_PER_MINUTE");
            } finally {
                ch.dropDatabase();
            }
        }
    }

    @Test
    void overTheLimitNoQueryIsAttempted() throws Exception {
        // port 9 (discard) refuses connections here: every ClickHouse query of this gateway fails
        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "1",
                ConfigKey.API_RATE_LIMIT_PER_MINUTE.name(), "1", ConfigKey.CLICKHOUSE_URL.name(), "http://127.0.0.1:9"))) {
            String a = fx.tokens.forCompany("rld");
            assertThat(get(fx, MISSING_COHORT, a).statusCode()).as("within the limit the lookup runs, and fails").isEqualTo(503);
            assertRateLimited(get(fx, MISSING_COHORT, a), "COHORT_RATE_LIMIT_PER_MINUTE");
            assertThat(get(fx, "/stream/snapshot", a).statusCode()).as("within the limit the snapshot reads ClickHouse, and fails").isEqualTo(503);
            assertRateLimited(get(fx, "/stream/snapshot", a), "API_RATE_LIMIT_PER_MINUTE");
        }
    }

    private static List<Integer> auditStatuses(GatewayFixture fx, String company) throws Exception {
        try (Connection c = PostgresSettings.from(fx.config).connect();
             PreparedStatement ps = c.prepareStatement("SELECT status FROM cohort_audit_log WHERE company_id = ? AND cohort_id = 987654321")) {
            ps.setString(1, company);
            try (ResultSet rs = ps.executeQuery()) {
                List<Integer> out = new java.util.ArrayList<>();
                while (rs.next()) {
                    out.add(rs.getInt(1));
                }
                return out;
            }
        }
    }
}
