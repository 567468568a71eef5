package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortHttp.Answer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.io.StringReader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Management endpoints against a real PostgreSQL schema of their own: roles, company scoping, history, audit, rate limit, bulk load. */
class CohortManagementITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static CohortHttp http;
    static PostgresSettings pg;
    static String adminA;
    static String viewerA;
    static String adminB;

    @BeforeAll
    static void start() {
        fx = new GatewayFixture(Map.of());
        http = new CohortHttp(fx.base());
        pg = PostgresSettings.from(fx.config);
        adminA = fx.tokens.admin(List.of("mgA"));
        viewerA = fx.tokens.forCompany("mgA");
        adminB = fx.tokens.admin(List.of("mgB"));
    }

    private static long create(String token, String name) throws Exception {
        Answer a = http.send("POST", "/cohorts", token, "{\"name\":\"" + name + "\",\"description\":\"d\"}");
        assertThat(a.status()).as(a.body()).isEqualTo(201);
        return a.json().get("id").asLong();
    }

    @Test
    void adminCreatesChangesMembersListsAndSoftDeletesWithHistoryKept() throws Exception {
        Answer created = http.send("POST", "/cohorts", adminA, "{\"name\":\"Mentors 2026\",\"description\":\"spring intake\"}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(CohortAnalyticsITCase.fieldNames(created.json())).containsExactly("id", "companyId", "name", "description", "createdAt");
        assertThat(created.json().get("companyId").asText()).isEqualTo("mgA");
        long id = created.json().get("id").asLong();

        Answer add = http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"u1\",\"u2\",\"u3\"]}");
        assertThat(add.status()).as(add.body()).isEqualTo(200);
        assertThat(add.json().get("id").asLong()).isEqualTo(id);
        assertThat(add.json().get("members").asLong()).isEqualTo(3);
        Answer change = http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"u1\",\"u4\"],\"remove\":[\"u2\",\"nobody\"]}");
        assertThat(change.json().get("members").asLong()).as("u1 already a member: unchanged; u2 left; u4 joined").isEqualTo(3);
        Answer back = http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"u2\"]}");
        assertThat(back.json().get("members").asLong()).isEqualTo(4);

        try (Connection c = pg.connect();
             PreparedStatement ps = c.prepareStatement("SELECT count(*), count(left_at) FROM user_cohorts WHERE cohort_id = ? AND user_id = 'u2'")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).as("re-adding opened a second stint").isEqualTo(2);
                assertThat(rs.getInt(2)).as("the first stint is closed").isEqualTo(1);
            }
        }

        Answer list = http.get("/cohorts", viewerA);
        assertThat(list.status()).as("viewers may list their company's cohorts").isEqualTo(200);
        JsonNode mine = find(list.json().get("cohorts"), id);
        assertThat(mine.get("name").asText()).isEqualTo("Mentors 2026");
        assertThat(mine.get("members").asLong()).isEqualTo(4);
        assertThat(http.get("/cohorts", adminB).json().get("cohorts").findValuesAsText("companyId")).doesNotContain("mgA");

        assertThat(http.send("DELETE", "/cohorts/" + id, adminA, null).status()).isEqualTo(204);
        assertThat(find(http.get("/cohorts", adminA).json().get("cohorts"), id)).isNull();
        assertThat(http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"u9\"]}").status()).isEqualTo(404);
        assertThat(http.send("DELETE", "/cohorts/" + id, adminA, null).status()).isEqualTo(404);
        try (Connection c = pg.connect();
             PreparedStatement ps = c.prepareStatement("SELECT deleted_at IS NOT NULL FROM cohorts WHERE id = ?")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("soft delete keeps the row").isTrue();
                assertThat(rs.getBoolean(1)).isTrue();
            }
        }
        assertThat(create(adminA, "Mentors 2026")).as("a deleted cohort's name can be used again").isNotEqualTo(id);
    }

    private static JsonNode find(JsonNode cohorts, long id) {
        for (JsonNode c : cohorts) {
            if (c.get("id").asLong() == id) {
                return c;
            }
        }
        return null;
    }

    @Test
    void viewersGet403AndOtherCompaniesGet404() throws Exception {
        long id = create(adminA, "roles");
        Answer viewerCreate = http.send("POST", "/cohorts", viewerA, "{\"name\":\"nope\"}");
        assertThat(viewerCreate.status()).isEqualTo(403);
        assertThat(viewerCreate.error()).isEqualTo("admin_required");
        assertThat(http.send("PUT", "/cohorts/" + id + "/members", viewerA, "{\"add\":[\"u1\"]}").status()).isEqualTo(403);
        assertThat(http.send("DELETE", "/cohorts/" + id, viewerA, null).status()).isEqualTo(403);
        assertThat(http.get("/cohorts/audit", viewerA).status()).isEqualTo(403);

        assertThat(http.send("PUT", "/cohorts/" + id + "/members", adminB, "{\"add\":[\"u1\"]}").status()).isEqualTo(404);
        assertThat(http.send("DELETE", "/cohorts/" + id, adminB, null).status()).isEqualTo(404);
        assertThat(http.send("PUT", "/cohorts/" + id + "/members", fx.tokens.forCompany("mgB"), "{\"add\":[\"u1\"]}").status())
                .as("a viewer of another company learns nothing either").isEqualTo(404);
        assertThat(http.send("POST", "/cohorts?companyId=mgA", adminB, "{\"name\":\"x\"}").status()).isEqualTo(403);
        assertThat(http.send("POST", "/cohorts", null, "{\"name\":\"x\"}").status()).isEqualTo(401);
    }

    @Test
    void badManagementInputIs400NamingTheField() throws Exception {
        long id = create(adminA, "validation");
        Object[][] cases = {
                {"POST", "/cohorts", "{}", "bad_name"},
                {"POST", "/cohorts", "{\"name\":\"  \"}", "bad_name"},
                {"POST", "/cohorts", "{\"name\":[1]}", "bad_name"},
                {"POST", "/cohorts", "{\"name\":\"" + "n".repeat(201) + "\"}", "bad_name"},
                {"POST", "/cohorts", "{\"name\":\"ok\",\"description\":5}", "bad_description"},
                {"PUT", "/cohorts/" + id + "/members", "{}", "bad_add"},
                {"PUT", "/cohorts/" + id + "/members", "{\"add\":\"u1\"}", "bad_add"},
                {"PUT", "/cohorts/" + id + "/members", "{\"add\":[\"\"]}", "bad_add"},
                {"PUT", "/cohorts/" + id + "/members", "{\"add\":[{\"a\":1}]}", "bad_add"},
                {"PUT", "/cohorts/" + id + "/members", "{\"remove\":[\"" + "u".repeat(129) + "\"]}", "bad_remove"},
                {"PUT", "/cohorts/" + id + "/members", "{\"add\":[\"a\\u0000b\"]}", "bad_add"},
                {"PUT", "/cohorts/" + id + "/members", "{\"add\":[\"u1\"],\"remove\":[\"u1\"]}", "bad_remove"},
                {"PUT", "/cohorts/x' OR '1'='1/members", "{\"add\":[\"u1\"]}", "bad_id"},
                {"DELETE", "/cohorts/-1", null, "bad_id"},
        };
        for (Object[] c : cases) {
            Answer a = http.send((String) c[0], ((String) c[1]).replace(" ", "%20").replace("'", "%27"), adminA, (String) c[2]);
            assertThat(a.status()).as("%s %s %s -> %s", c[0], c[1], c[2], a.body()).isEqualTo(400);
            assertThat(a.error()).isEqualTo(c[3]);
        }
        Answer dup = http.send("POST", "/cohorts", adminA, "{\"name\":\"validation\"}");
        assertThat(dup.status()).isEqualTo(409);
        long other = create(adminA, "validation-renamed");
        Answer renamed = http.send("PUT", "/cohorts/" + other, adminA, "{\"name\":\"validation\"}");
        assertThat(renamed.status()).as(renamed.body()).isEqualTo(409);
        assertThat(renamed.error()).isEqualTo("cohort_name_taken");
        assertThat(renamed.message()).contains("company mgA already has a cohort named 'validation'");
        String many = IntStream.range(0, CohortManagementService.MAX_MEMBERS_PER_CALL + 1).mapToObj(i -> "\"u" + i + "\"")
                .collect(Collectors.joining(",", "{\"add\":[", "]}"));
        Answer tooMany = http.send("PUT", "/cohorts/" + id + "/members", adminA, many);
        assertThat(tooMany.status()).isEqualTo(400);
        assertThat(tooMany.error()).isEqualTo("bad_add");
        assertThat(tooMany.message()).contains("cohort_bulk_load");
        // over the gateway's one body limit (GATEWAY_MAX_BODY_BYTES, 16 MiB by default)
        Answer huge = http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"" + "x".repeat(17 * 1024 * 1024) + "\"]}");
        assertThat(huge.status()).isEqualTo(413);
        assertThat(huge.error()).isEqualTo("body_too_large");
        // hostile but valid user ids are stored as they are, never interpreted
        String hostile = "{\"add\":[\"u'; DROP TABLE user_cohorts; --\",\"ß€😀\",\"\\\\x00\"]}";
        Answer ok = http.send("PUT", "/cohorts/" + id + "/members", adminA, hostile);
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().get("members").asLong()).isEqualTo(3);
    }

    @Test
    void auditLogRecordsQueriesAndMembershipChangesForTheCompanysAdmins() throws Exception {
        long id = create(adminA, "audited");
        http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"a1\",\"a2\"]}");
        http.send("PUT", "/cohorts/" + id + "/members", viewerA, "{\"add\":[\"a3\"]}");  // 403, audited too
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            Answer a = http.get("/cohorts/audit?limit=100", adminA);
            assertThat(a.status()).as(a.body()).isEqualTo(200);
            assertThat(a.json().get("companyId").asText()).isEqualTo("mgA");
            List<String> rows = a.json().get("entries").findValues("endpoint").stream().map(JsonNode::asText).toList();
            assertThat(rows).contains("/cohorts/{id}/members", "/cohorts");
            JsonNode change = null;
            JsonNode denied = null;
            for (JsonNode e : a.json().get("entries")) {
                if (e.get("endpoint").asText().equals("/cohorts/{id}/members") && e.get("cohortId").asLong() == id) {
                    if (e.get("status").asInt() == 200) {
                        change = e;
                    } else if (e.get("status").asInt() == 403) {
                        denied = e;
                    }
                }
            }
            assertThat(change).isNotNull();
            assertThat(change.get("subject").asText()).isEqualTo("admin");
            assertThat(change.get("method").asText()).isEqualTo("PUT");
            assertThat(change.get("detail").asText()).contains("added=2");
            assertThat(change.get("at").asText()).endsWith("Z");
            assertThat(denied).as("a refused change is audited with its status").isNotNull();
            assertThat(denied.get("subject").asText()).isEqualTo("user-mgA");
        });
        long bCohort = create(adminB, "audited-b");
        http.send("PUT", "/cohorts/" + bCohort + "/members", adminB, "{\"add\":[\"b1\"]}");
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            Answer b = http.get("/cohorts/audit", adminB); // the default limit
            assertThat(b.status()).as("admin B reads B's audit: %s", b.body()).isEqualTo(200);
            assertThat(b.json().get("companyId").asText()).isEqualTo("mgB");
            List<String> companies = b.json().get("entries").findValuesAsText("companyId");
            assertThat(companies).as("B's audit holds B's own calls and nothing of A's: %s", b.body()).contains("mgB").containsOnly("mgB");
            assertThat(b.json().get("entries").findValues("cohortId").stream().map(JsonNode::asLong).toList())
                    .as("B's membership change, nothing of A's cohort").contains(bCohort).doesNotContain(id);
        });
    }

    @Test
    void rateLimitIsPerCompanyWithRetryAfter() throws Exception {
        try (GatewayFixture limited = new GatewayFixture(Map.of("COHORT_RATE_LIMIT_PER_MINUTE", "3"))) {
            CohortHttp h = new CohortHttp(limited.base());
            String a = limited.tokens.forCompany("rlA");
            for (int i = 0; i < 3; i++) {
                assertThat(h.get("/cohorts", a).status()).isEqualTo(200);
            }
            Answer over = h.get("/cohorts", a);
            assertThat(over.status()).isEqualTo(429);
            assertThat(over.error()).isEqualTo("rate_limited");
            assertThat(over.message()).contains("COHORT_RATE_LIMIT_PER_MINUTE");
            int retryAfter = Integer.parseInt(over.raw().headers().firstValue("Retry-After").orElseThrow());
            assertThat(retryAfter).isBetween(1, 20);
            assertThat(h.get("/cohort/top?metric=sroi", a).status()).as("the analytics routes share the budget").isEqualTo(429);
            assertThat(h.get("/cohorts", limited.tokens.forCompany("rlB")).status()).as("another company is not affected").isEqualTo(200);
        }
    }

    @Test
    void bulkLoadThroughStagingAndOneFunctionCall() throws Exception {
        long id = create(adminA, "bulk");
        http.send("PUT", "/cohorts/" + id + "/members", adminA, "{\"add\":[\"keep\",\"drop\"]}");
        String csv = IntStream.range(0, 20_000).mapToObj(i -> "load1,b" + i).collect(Collectors.joining("\n", "", "\nload1,keep\n"));
        try (Connection c = pg.connect()) {
            long copied = c.unwrap(PGConnection.class).getCopyAPI()
                    .copyIn("COPY cohort_member_staging (load_id, user_id) FROM STDIN WITH (FORMAT csv)", new StringReader(csv));
            assertThat(copied).isEqualTo(20_001);
            try (PreparedStatement ps = c.prepareStatement("SELECT added, removed, members FROM cohort_bulk_load(?, 'load1', true)")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(rs.getLong(1)).as("added").isEqualTo(20_000);
                    assertThat(rs.getLong(2)).as("removed: 'drop' is not in the load").isEqualTo(1);
                    assertThat(rs.getLong(3)).as("members").isEqualTo(20_001);
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM cohort_member_staging WHERE load_id = 'load1'")) {
                rs.next();
                assertThat(rs.getLong(1)).as("staging rows of the load are removed").isZero();
            }
        }
        JsonNode listed = find(http.get("/cohorts", adminA).json().get("cohorts"), id);
        assertThat(listed.get("members").asLong()).isEqualTo(20_001);
    }
}
