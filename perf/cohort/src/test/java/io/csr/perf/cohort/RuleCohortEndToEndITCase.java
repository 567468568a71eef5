package io.csr.perf.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.Gateway;
import io.csr.gateway.GatewaySettings;
import io.csr.gateway.Main;
import io.helidon.webserver.WebServer;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Issue 19, end to end with nothing stood in for: a rule cohort defined through the gateway's API, its membership
 * computed by the gateway into PostgreSQL, replicated by the running job (embedded, a MiniCluster in its own process,
 * started as {@code bin/csr start} starts it) into ClickHouse, and the cohort's figures — from the observations the
 * same job wrote from NATS — changing within 60 s of each input change: a participant's attribute (PUT
 * /participants), a journey flag set (a NATS event the job writes to ClickHouse {@code events}), and a participant
 * moving out. Everything in a namespace of its own: JetStream stream, ClickHouse database, PostgreSQL schema, Redis
 * key prefix.
 *
 * <pre>
 * user  programme (then)      at_risk      sroi today
 * a1    mentoring (→ buddy)   -            2, 4
 * a2    buddy (→ mentoring)   -            10
 * b1    buddy                 set (NATS)   7
 * rule: any(programme in [mentoring], flag at_risk)
 * </pre>
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class RuleCohortEndToEndITCase {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String CO = "e2e";
    private static final Duration WITHIN = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private String base;
    private String token;
    private int seq;

    @Test
    void aRuleCohortsFiguresFollowAttributeAndFlagChangesThroughTheRunningJobWithin60Seconds() throws Exception {
        String id = UUID.randomUUID().toString().replace("-", "").substring(0, 8).toLowerCase(Locale.ROOT);
        String ns = "it_e2e_" + id;
        String stream = "IT_E2E_" + id.toUpperCase(Locale.ROOT);
        String prefix = "it_e2e_" + id + ".";
        Map<String, String> values = new HashMap<>();
        values.put(ConfigKey.CLICKHOUSE_DATABASE.name(), ns);
        values.put(ConfigKey.POSTGRES_SCHEMA.name(), ns);
        values.put(ConfigKey.REDIS_KEY_PREFIX.name(), ns + ":");
        values.put(ConfigKey.NATS_STREAM.name(), stream);
        values.put(ConfigKey.NATS_SUBJECT_PREFIX.name(), prefix);
        values.put(ConfigKey.GATEWAY_PORT.name(), "0");
        values.put(ConfigKey.COHORT_RULE_REFRESH_SECONDS.name(), "5");
        CsrConfig config = CsrConfig.fromEnvironment().with(values);

        PostgresSettings pg = PostgresSettings.from(config);
        try (java.sql.Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + ns);
        }
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config));
        ch.createDatabaseIfMissing();
        Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
        Connection nats = Nats.connect(config.get(ConfigKey.NATS_URL));
        JetStreamManagement jsm = nats.jetStreamManagement();
        jsm.addStream(StreamConfiguration.builder().name(stream).storageType(StorageType.File)
                .subjects(prefix + "metrics.>", prefix + "journey.>", prefix + "q2q.>").build());
        JetStream js = nats.jetStream();

        Process job = null;
        WebServer server = null;
        Gateway gateway = null;
        Path jobLog = tmp.resolve("job.log");
        try {
            job = startJob(values, jobLog);
            GatewaySettings settings = GatewaySettings.from(config);
            gateway = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(config)), pg, Clock.systemUTC());
            server = Main.server(settings, gateway).build().start();
            base = "http://127.0.0.1:" + server.port();
            token = token(settings.jwtSecret());

            for (String[] p : new String[][] {{"a1", "mentoring"}, {"a2", "buddy"}, {"b1", "buddy"}}) {
                participant(p[0], p[1]);
            }
            Instant at = Instant.now().minusSeconds(60);
            Object[][] sroi = {{"a1", 2.0}, {"a1", 4.0}, {"a2", 10.0}, {"b1", 7.0}};
            for (Object[] o : sroi) {
                publish(js, prefix + "metrics.sroi", "{\"eventId\":\"" + id + "-" + (++seq) + "\",\"companyId\":\"" + CO + "\",\"userId\":\""
                        + o[0] + "\",\"occurredAt\":\"" + at + "\",\"value\":" + o[1] + "}");
            }
            // the job's start (a MiniCluster on a busy machine) is not part of the 60 s: wait for its first commit
            Process running = job;
            await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(1)).until(() -> !running.isAlive()
                    || ch.queryLong("SELECT sum(count) AS c FROM (SELECT count FROM user_daily_metrics FINAL WHERE company_id = 'e2e')") == 4);
            assertThat(job.isAlive()).as("job alive; log:\n%s", log(jobLog)).isTrue();

            String range = "metric=sroi&startDate=" + LocalDate.ofInstant(at, ZoneOffset.UTC).minusDays(1) + "&endDate="
                    + LocalDate.now(ZoneOffset.UTC);
            JsonNode created = send("POST", "/cohorts", "{\"name\":\"mentoring or at risk\",\"rule\":{\"any\":["
                    + "{\"attr\":\"programme\",\"in\":[\"mentoring\"]},{\"flag\":\"at_risk\"}]}}", 201);
            assertThat(created.get("members").asLong()).isEqualTo(1);
            String figures = "/cohort/" + created.get("id").asLong() + "/metrics?" + range;
            List<String> took = new ArrayList<>();

            long t0 = System.nanoTime();
            awaitFigures(figures, 1, 2, 3.0);
            took.add("rule created: " + ms(t0));

            t0 = System.nanoTime();
            participant("a2", "mentoring");
            awaitFigures(figures, 2, 3, 16.0 / 3);
            took.add("a2 moved to mentoring (PUT /participants): " + ms(t0));

            t0 = System.nanoTime();
            publish(js, prefix + "journey.at_risk", "{\"eventId\":\"" + id + "-" + (++seq) + "\",\"companyId\":\"" + CO
                    + "\",\"userId\":\"b1\",\"occurredAt\":\"" + Instant.now() + "\",\"value\":true}");
            awaitFigures(figures, 3, 4, 23.0 / 4);
            took.add("b1 flagged at_risk (NATS, through the job): " + ms(t0));

            t0 = System.nanoTime();
            participant("a1", "buddy");
            awaitFigures(figures, 2, 2, 17.0 / 2);
            took.add("a1 moved out (PUT /participants): " + ms(t0));
            JsonNode last = send("GET", figures, null, 200);
            assertThat(last.get("min").asDouble()).isEqualTo(7.0);
            assertThat(last.get("max").asDouble()).isEqualTo(10.0);
            System.out.println("rule cohort figures followed each change within: " + String.join("; ", took));
        } catch (Throwable t) {
            System.err.println("job log:\n" + log(jobLog));
            throw t;
        } finally {
            if (server != null) {
                server.stop();
            }
            if (gateway != null) {
                gateway.close();
            }
            if (job != null) {
                job.destroy();
                if (!job.waitFor(30, TimeUnit.SECONDS)) {
                    job.destroyForcibly().waitFor();
                }
            }
            try {
                jsm.deleteStream(stream);
                nats.close();
            } finally {
                ch.dropDatabase();
                ch.close();
                try (java.sql.Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
                    st.execute("DROP SCHEMA " + ns + " CASCADE");
                }
            }
        }
    }

    /** The cohort's figures reach {@code users}, {@code count} and {@code avg} within 60 s. */
    private void awaitFigures(String path, long users, long count, double avg) {
        await().atMost(WITHIN).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            JsonNode f = send("GET", path, null, 200);
            assertThat(f.get("users").asLong()).as(f.toString()).isEqualTo(users);
            assertThat(f.get("count").asLong()).as(f.toString()).isEqualTo(count);
            assertThat(f.get("avg").asDouble()).as(f.toString()).isCloseTo(avg, within(1e-9));
        });
    }

    /**
     * The job as bin/csr starts it embedded: {@code java -cp <jar>:<classpath.txt>:<classpath-runtime.txt>
     * io.csr.job.CsrJob --embedded KEY=VALUE…}, from the job module the reactor packaged before this one.
     */
    private Process startJob(Map<String, String> values, Path log) throws Exception {
        Path jobTarget = Migrations.sqlRoot().getParent().resolve("job/target");
        String cp = jobTarget.resolve("classes") + File.pathSeparator + Files.readString(jobTarget.resolve("classpath.txt")).trim()
                + File.pathSeparator + Files.readString(jobTarget.resolve("classpath-runtime.txt")).trim();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(System.getProperty("flink.jvm.opens", "").trim().split("\\s+")));
        cmd.addAll(List.of("-Xmx768m", "-Dlog4j2.configurationFile="
                        + Migrations.sqlRoot().getParent().resolve("job/src/main/config/log4j2-embedded.xml"),
                "-cp", cp, "io.csr.job.CsrJob", "--embedded",
                ConfigKey.CHECKPOINT_INTERVAL_MS.name() + "=1000",
                ConfigKey.COHORT_REPLICATION_POLL_MS.name() + "=1000",
                ConfigKey.CSR_STATE_DIR.name() + "=" + tmp.resolve("state"),
                ConfigKey.FLINK_REST_URL.name() + "=http://127.0.0.1:" + freePort()));
        values.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.removeIf(String::isEmpty);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private void participant(String user, String programme) throws Exception {
        send("PUT", "/participants/" + user, "{\"programme\":\"" + programme + "\",\"languageGroup\":\"de\",\"enrolledOn\":\"2026-09-01\"}", 200);
    }

    private static void publish(JetStream js, String subject, String body) throws Exception {
        js.publish(subject, body.getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode send(String method, String path, String body, int status) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(method + " " + path + " -> " + res.body()).isEqualTo(status);
        return Json.mapper().readTree(res.body());
    }

    private static String token(String secret) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("e2e").claim("companies", List.of(CO)).claim("roles", List.of("admin"))
                .expirationTime(Date.from(Instant.now().plusSeconds(3_600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000 + " ms";
    }

    private static String log(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
