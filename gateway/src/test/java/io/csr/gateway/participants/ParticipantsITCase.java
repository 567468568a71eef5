package io.csr.gateway.participants;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Participants kept by a company's admins through the gateway, against the real PostgreSQL (fixture's own schema). */
class ParticipantsITCase {
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0"));
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        return Json.mapper().readTree(res.body());
    }

    @Test
    void anAdminPutsAndListsItsCompanysParticipants() throws Exception {
        String admin = fx.tokens.admin(List.of("pa"));
        HttpResponse<String> put = fx.send("PUT", "/participants/u1", admin, "application/json",
                "{\"programme\":\"language\",\"languageGroup\":\"de\",\"enrolledOn\":\"2026-01-05\"}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        assertThat(json(put).path("programme").asText()).isEqualTo("language");
        assertThat(json(put).path("leftOn").isNull()).isTrue();
        String firstUpdate = json(put).path("updatedAt").asText();

        HttpResponse<String> again = fx.send("PUT", "/participants/u1", admin, "application/json",
                "{\"programme\":\"language\",\"languageGroup\":\"de\",\"enrolledOn\":\"2026-01-05\",\"leftOn\":\"2026-06-30\",\"outcome\":\"completed\"}");
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(json(again).path("outcome").asText()).isEqualTo("completed");
        assertThat(json(again).path("updatedAt").asText()).isGreaterThan(firstUpdate);

        fx.send("PUT", "/participants/u2", admin, "application/json", "{\"programme\":\"mentoring\",\"enrolledOn\":\"2026-02-01\"}");
        JsonNode list = json(fx.send("GET", "/participants", admin, null, null));
        assertThat(list.path("total").asLong()).isEqualTo(2);
        assertThat(list.path("participants")).extracting(n -> n.path("userId").asText()).containsExactly("u1", "u2");
        JsonNode filtered = json(fx.send("GET", "/participants?programme=mentoring", admin, null, null));
        assertThat(filtered.path("participants")).extracting(n -> n.path("userId").asText()).containsExactly("u2");
        JsonNode page = json(fx.send("GET", "/participants?limit=1&offset=1", admin, null, null));
        assertThat(page.path("total").asLong()).isEqualTo(2);
        assertThat(page.path("participants")).extracting(n -> n.path("userId").asText()).containsExactly("u2");
    }

    @Test
    void badInputIs400NamingTheField() throws Exception {
        String admin = fx.tokens.admin(List.of("pb"));
        HttpResponse<String> res = fx.send("PUT", "/participants/u1", admin, "application/json", "{\"programme\":\"x\",\"enrolledOn\":\"5.1.2026\"}");
        assertThat(res.statusCode()).isEqualTo(400);
        assertThat(json(res).path("error").asText()).isEqualTo("bad_enrolledOn");
        assertThat(json(res).path("message").asText()).contains("5.1.2026");
        res = fx.send("PUT", "/participants/u1", admin, "application/json", "{\"programme\":\"x\",\"enrolledOn\":\"2026-01-05\",\"outcome\":\"completed\"}");
        assertThat(json(res).path("error").asText()).isEqualTo("bad_leftOn");
        res = fx.send("PUT", "/participants/u1", admin, "application/json", "[1]");
        assertThat(json(res).path("error").asText()).isEqualTo("bad_json");
        res = fx.send("GET", "/participants?limit=0", admin, null, null);
        assertThat(json(res).path("error").asText()).isEqualTo("bad_limit");
    }

    @Test
    void onlyAnAdminOfThatCompanyMayReadOrWrite() throws Exception {
        String body = "{\"programme\":\"language\",\"enrolledOn\":\"2026-01-05\"}";
        assertThat(fx.send("PUT", "/participants/u1", fx.tokens.forCompany("pc"), "application/json", body).statusCode()).isEqualTo(403);
        assertThat(fx.send("GET", "/participants", fx.tokens.forCompany("pc"), null, null).statusCode()).isEqualTo(403);
        assertThat(fx.send("PUT", "/participants/u1?companyId=pc", fx.tokens.admin(List.of("pd")), "application/json", body).statusCode())
                .isEqualTo(403);
        assertThat(fx.send("GET", "/participants", null, null, null).statusCode()).isEqualTo(401);
        assertThat(fx.send("PUT", "/participants/u1", fx.tokens.admin(List.of("pc")), "application/json", body).statusCode()).isEqualTo(200);
        JsonNode otherAdmin = json(fx.send("GET", "/participants", fx.tokens.admin(List.of("pd")), null, null));
        assertThat(otherAdmin.path("participants")).isEmpty();
    }

    @Test
    void aCsvImportWritesTheGoodRowsAndReportsEveryBadOne() throws Exception {
        String admin = fx.tokens.admin(List.of("pe"));
        String csv = "userId,programme,languageGroup,enrolledOn,leftOn,outcome\n"
                + "u1,language,de,2026-01-05,,\n"
                + "u2,language,fr,2026-01-05,2026-05-01,dropped_out\n"
                + "u3,language,fr,not-a-date,,\n"
                + "u1,mentoring,,2026-01-05,,\n";
        HttpResponse<String> res = fx.send("POST", "/participants:import", admin, "text/csv", csv);
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        JsonNode report = json(res);
        assertThat(report.path("rows").asInt()).isEqualTo(4);
        assertThat(report.path("imported").asInt()).isEqualTo(2);
        assertThat(report.path("failed").asInt()).isEqualTo(2);
        assertThat(report.path("errors")).extracting(n -> n.path("line").asInt()).containsExactly(4, 5);
        assertThat(report.path("errors").get(0).path("field").asText()).isEqualTo("enrolledOn");
        assertThat(report.path("errors").get(0).path("userId").asText()).isEqualTo("u3");
        JsonNode list = json(fx.send("GET", "/participants", admin, null, null));
        assertThat(list.path("participants")).extracting(n -> n.path("userId").asText() + ":" + n.path("outcome").asText())
                .containsExactly("u1:null", "u2:dropped_out");

        HttpResponse<String> badHeader = fx.send("POST", "/participants:import", admin, "text/csv", "user,programme\nu1,x\n");
        assertThat(badHeader.statusCode()).isEqualTo(400);
        assertThat(json(badHeader).path("error").asText()).isEqualTo("bad_csv");
        assertThat(fx.send("POST", "/participants:import", fx.tokens.forCompany("pe"), "text/csv", csv).statusCode()).isEqualTo(403);
    }
}
