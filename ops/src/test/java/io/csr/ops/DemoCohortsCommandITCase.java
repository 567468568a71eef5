package io.csr.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code csr demo-cohorts} against real PostgreSQL (its own schema: the participants) and a stand-in for the gateway
 * that records the API calls (the gateway is another module; its side — rule validation and membership — is
 * RuleCohortITCase's). Checks the calls an admin would make, that every rule is one the gateway's language accepts
 * in shape, and that a second run creates nothing.
 */
class DemoCohortsCommandITCase {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void participantsAndThreeCohortsPerCompanyOnceOnly() throws Exception {
        String ns = "it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        List<String> names = Collections.synchronizedList(new ArrayList<>());
        HttpServer gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        gateway.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String call = ex.getRequestMethod() + " " + ex.getRequestURI();
            calls.add(call + (body.isEmpty() ? "" : " " + body));
            String answer;
            int status = 200;
            String query = ex.getRequestURI().getQuery();
            if (query == null || !query.matches("companyId=[a-z0-9_-]+")) {
                // as the gateway: a token of several companies (the command's) names one on every cohort call
                status = 400;
                answer = "{\"error\":\"company_required\"}";
            } else if (call.startsWith("GET /cohorts")) {
                String company = ex.getRequestURI().getQuery().replace("companyId=", "");
                StringBuilder list = new StringBuilder("{\"cohorts\":[");
                synchronized (names) {
                    list.append(String.join(",", names.stream().filter(n -> n.startsWith(company + "/"))
                            .map(n -> "{\"name\":\"" + n.substring(company.length() + 1) + "\"}").toList()));
                }
                answer = list + "]}";
            } else if (call.startsWith("POST /cohorts")) {
                JsonNode b = JSON.readTree(body);
                names.add(ex.getRequestURI().getQuery().replace("companyId=", "") + "/" + b.get("name").asText());
                status = 201;
                answer = "{\"id\":" + names.size() + (b.has("rule") ? ",\"kind\":\"rule\",\"members\":7" : "") + "}";
            } else if (call.startsWith("PUT /cohorts/")) {
                answer = "{\"members\":" + JSON.readTree(body).get("add").size() + "}";
            } else {
                answer = "{}";
            }
            byte[] out = answer.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        gateway.start();
        CsrConfig config = CsrConfig.fromEnvironment().with(Map.of(ConfigKey.POSTGRES_SCHEMA.name(), ns));
        PostgresSettings pg = PostgresSettings.from(config);
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        try {
            String url = "http://127.0.0.1:" + gateway.getAddress().getPort();
            assertThat(Main.run(config, new String[] {"demo-cohorts", "--companies", "da,db", "--gateway", url})).isZero();
            try (Connection c = pg.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM participants WHERE company_id IN ('da', 'db')")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(2 * DemoParticipants.USERS);
            }
            assertThat(names).containsExactly("da/German learners at risk", "da/Mentoring, active this week", "da/Pilot group",
                    "db/German learners at risk", "db/Mentoring, active this week", "db/Pilot group");
            List<String> posts = calls.stream().filter(c -> c.startsWith("POST")).toList();
            assertThat(posts.stream().filter(c -> c.contains("\"rule\":")).count()).as("two rule cohorts per company").isEqualTo(4);
            for (String post : posts) {
                JsonNode rule = JSON.readTree(post.substring(post.indexOf('{'))).get("rule");
                if (rule != null) {
                    assertThat(rule.has("all")).as(post).isTrue();
                }
            }
            assertThat(calls.stream().filter(c -> c.startsWith("PUT /cohorts/3/members")).findFirst().orElseThrow())
                    .contains("\"u1\"", "\"u" + DemoCohortsCommand.STATIC_MEMBERS + "\"");

            int before = calls.size();
            assertThat(Main.run(config, new String[] {"demo-cohorts", "--companies", "da,db", "--gateway", url})).isZero();
            assertThat(calls.subList(before, calls.size())).as("a second run only lists").allMatch(c -> c.startsWith("GET "));
            assertThat(Main.run(config, new String[] {"demo-cohorts", "--companies", "d a"})).as("a bad company is a usage error").isEqualTo(2);
            assertThat(Main.run(config, new String[] {"demo-cohorts", "--frobnicate"})).isEqualTo(2);
        } finally {
            gateway.stop(0);
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS " + ns + " CASCADE");
            }
        }
    }
}
