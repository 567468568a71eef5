package io.csr.gateway.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.Main;
import io.csr.gateway.SseTestClient;
import io.csr.gateway.openapi.RouteRecorder;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Role {@code admin} is an admin of the companies in its token only: with live streams of two tenants open, the admin
 * of one never sees the other on any endpoint (stats, metrics, snapshot, updates, health); an {@code operator} token
 * sees both on the platform-wide views.
 */
class TenantIsolationITCase {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String MINE = "tenantMine";
    private static final String OTHER = "tenantOther";
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of());
    }

    @Test
    void aCompanyAdminNeverSeesAnotherCompanyAnOperatorDoesOnStats() throws Exception {
        try (SseTestClient mine = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(MINE), null));
             SseTestClient other = SseTestClient.open(fx.updatesUrl(fx.tokens.forCompany(OTHER), null))) {
            await().atMost(WAIT).until(() -> !mine.frames.isEmpty() && !other.frames.isEmpty());
            fx.publishMetric(OTHER, "hours", 1);
            await().atMost(WAIT).until(() -> !other.updateIds().isEmpty());
            String admin = fx.tokens.admin(List.of(MINE));

            // every endpoint an admin can reach: no answer names the other company
            for (String path : List.of("/stream/stats", "/metrics", "/stream/health", "/health", "/stream/snapshot",
                    "/stream/snapshot?companyId=" + MINE)) {
                HttpResponse<String> res = fx.get(path, admin);
                assertThat(res.body()).as("%s answered %d", path, res.statusCode()).doesNotContain(OTHER);
            }
            // and every other GET route Main.routing registers (cohort routes included once they exist), with and
            // without companyId: the event stream is covered below, routes with path parameters by their own tests
            RouteRecorder recorder = new RouteRecorder();
            Main.routing(recorder.builder(), fx.gateway);
            List<String> gets = recorder.routes().stream().filter(r -> r.startsWith("GET /") && !r.contains("{"))
                    .map(r -> r.substring(4)).filter(p -> !p.equals("/stream/updates")).toList();
            assertThat(gets).contains("/stream/stats", "/metrics", "/openapi");
            for (String path : gets) {
                for (String query : List.of("", "?companyId=" + MINE)) {
                    HttpResponse<String> res = fx.get(path + query, admin);
                    assertThat(res.body()).as("%s%s answered %d", path, query, res.statusCode()).doesNotContain(OTHER);
                }
            }

            JsonNode stats = Json.mapper().readTree(fx.get("/stream/stats", admin).body());
            assertThat(stats.get("scope").asText()).isEqualTo("companies");
            assertThat(stats.get("companies").findValuesAsText("companyId")).containsExactly(MINE);
            assertThat(stats.has("connections")).as("node-wide figures are platform-wide: operators only").isFalse();
            assertThat(stats.has("readers")).isFalse();

            // asking for the other company by name is refused, never answered
            for (String path : List.of("/stream/snapshot?companyId=" + OTHER, "/stream/stats?companyId=" + OTHER)) {
                HttpResponse<String> res = fx.get(path, admin);
                assertThat(res.body()).as(path).satisfiesAnyOf(
                        b -> assertThat(res.statusCode()).isEqualTo(403),
                        b -> assertThat(b).doesNotContain(OTHER));
            }
            try (SseTestClient peek = SseTestClient.open(fx.updatesUrl(admin, "companyId=" + OTHER))) {
                assertThat(peek.status).isEqualTo(403);
                assertThat(peek.errorBody).contains("company_not_granted");
            }
            // an admin token without a company is an admin of nothing
            assertThat(fx.get("/stream/stats", fx.tokens.admin(List.of())).statusCode()).isEqualTo(401);

            // the operator sees every company and the node-wide figures
            String operator = fx.tokens.operator(List.of());
            JsonNode all = Json.mapper().readTree(fx.get("/stream/stats", operator).body());
            assertThat(all.get("scope").asText()).isEqualTo("all");
            assertThat(all.get("companies").findValuesAsText("companyId")).contains(MINE, OTHER);
            assertThat(all.get("connections").asLong()).isGreaterThanOrEqualTo(2);
            assertThat(fx.get("/metrics", operator).body()).contains("csr_stream_company_connections{company=\"" + OTHER + "\"} 1");
            assertThat(fx.get("/metrics", null).body()).as("no token: node-wide series only")
                    .contains("csr_stream_connections ").doesNotContain(OTHER).doesNotContain(MINE);
            assertThat(fx.get("/metrics", "not-a-jwt").statusCode()).isEqualTo(401);
        }
    }
}
