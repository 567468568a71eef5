package io.csr.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hostile-input run of issue 28 (not part of the test suite: run it by name). Starts a gateway against the real
 * services (its own namespace), sends every case of the issue whose fix is on main — both halves — plus a few hundred
 * seeded variations, and writes {@code perf/results/hostile-input-<time>.json}: requests sent, answers by status,
 * maximum live-heap growth (sampled after a full GC every 100 ms; the gateway runs in this JVM), slowest answer, and
 * every answer that broke a rule (a 5xx, or an error body without a request id or with SQL / driver / stack text).
 *
 * <pre>mvn -B -pl gateway -am verify -DskipITs -Dtest=HostileInputRun -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
class HostileInputRun {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private static final String[] LEAKS = {"select ", "insert ", "exception", "error:", "constraint", "org.postgresql", "clickhouse code", " at io.", "sqlstate"};
    private static final String[] HOSTILE = {"\u0000", "\u0085", "\u009f", "\u001b[31m", "\uD800", "\uDFFF", "a\uD800b", "\uFFFE", "\uFDD0",
            "'; DROP TABLE participants; --", "\" OR 1=1 --", "<script>alert(1)</script>", "\u202Eevil", "😀", "ß€", "%00", "..%2F..%2F",
            "x".repeat(129), "x".repeat(10_000), " ", "\t", "\n", "\r\n", "\\", "\"", "{}", "[]", "null", "-0001-01-01", "+5874898-01-01"};
    private static final String[] DATES = {"9999-12-31", "+5874898-01-01", "-0001-01-01", "0000-00-00", "1969-12-31", "2106-01-01",
            "2105-12-31", "1970-01-01", "2026-02-30", "2026-13-01", "20260101", "2026-1-1", "", "null", "2026-01-01T00:00:00Z",
            "１２３４-01-01", "2026-01-01\u0000"};

    private static final int READ_TIMEOUT_S = 3;
    private final Map<Integer, Integer> byStatus = new TreeMap<>();
    private final List<Map<String, Object>> violations = new ArrayList<>();
    private final Map<String, Object> cases = new LinkedHashMap<>();
    private int sent;
    private long slowestNanos;
    private String slowest = "";
    private GatewayFixture fx;

    @Test
    void run() throws Exception {
        Path results = Path.of("..", "perf", "results");
        Files.createDirectories(results);
        Instant started = Instant.now();
        long heapGrowth;
        fx = new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0", "COHORT_RATE_LIMIT_PER_MINUTE", "100",
                "API_RATE_LIMIT_PER_MINUTE", "100000", "GATEWAY_READ_TIMEOUT_SECONDS", Integer.toString(READ_TIMEOUT_S)));
        ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(fx.config));
        try (HeapWatch heap = HeapWatch.every(100)) {
            ch.createDatabaseIfMissing(); // the cohort API's tables, so valid cohort queries reach ClickHouse
            Migrations.clickHouse(ch, Migrations.sqlRoot(), line -> { }).migrate();
            issueCases();
            connectionCases();
            connectionCloseCases();
            variations(new Random(28));
            heapGrowth = heap.maxGrowth();
        } finally {
            try {
                ch.dropDatabase();
                ch.close();
            } finally {
                fx.close();
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", "hostile-input (issue 28)");
        out.put("startedAt", started.toString());
        out.put("seconds", Duration.between(started, Instant.now()).toMillis() / 1000.0);
        out.put("requestsSent", sent);
        out.put("answersByStatus", byStatus);
        out.put("maxLiveHeapGrowthBytes", heapGrowth);
        out.put("slowestAnswerMs", slowestNanos / 1_000_000.0);
        out.put("slowestAnswer", slowest);
        out.put("violations", violations);
        out.put("cases", cases);
        String name = "hostile-input-" + DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH-mm-ss'Z'").withZone(ZoneOffset.UTC).format(started) + ".json";
        Files.writeString(results.resolve(name), Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.out.println("hostile-input run: " + Json.mapper().writeValueAsString(out));
        assertThat(violations).as("answers that broke a rule").isEmpty();
    }

    private void issueCases() throws Exception {
        String admin = fx.tokens.admin(List.of("hi"));
        String json = "application/json";
        // 2: memory
        upload("PUT 200 MB chunked body", 413, "PUT /participants/u1", admin, json, "{\"programme\":\"", "x", 200L << 20);
        upload("CSV of 16 MiB one-character lines", 400, "POST /participants:import", admin, "text/csv", "userId,programme,enrolledOn\n",
                "a\n", 16L << 20);
        StringBuilder rows = new StringBuilder("userId,programme,enrolledOn\n");
        for (int i = 1; i <= 100_001; i++) {
            rows.append('u').append(i).append(",p,2026-01-01\n");
        }
        expect("CSV of 100,001 rows", 400, send("POST", "/participants:import", admin, "text/csv", HttpRequest.BodyPublishers.ofString(rows.toString())));
        upload("CSV over the byte limit (17 MiB of valid-length rows)", 413, "POST /participants:import", admin, "text/csv",
                "userId,programme,enrolledOn\n", "u," + "x".repeat(4_000) + ",2026-01-01\n", 17L << 20);
        // 3: permanent input errors
        expect("cohort endDate 9999-12-31", 400, send("GET", "/cohort/1/metrics?metric=sroi&companyId=hi&startDate=2026-01-01&endDate=9999-12-31", admin, null, null));
        expect("enrolledOn +5874898-01-01", 400, send("PUT", "/participants/u1", admin, json, body("{\"programme\":\"p\",\"enrolledOn\":\"+5874898-01-01\"}")));
        expect("enrolledOn -0001-01-01", 400, send("PUT", "/participants/u1", admin, json, body("{\"programme\":\"p\",\"enrolledOn\":\"-0001-01-01\"}")));
        HttpResponse<String> csv = send("POST", "/participants:import", admin, "text/csv",
                body("userId,programme,enrolledOn\nok1,p,2026-01-01\nbad,p,9999-12-31\nok2,p,2026-01-02\n"));
        expect("CSV with one row out of range: the others written", 200, csv);
        cases.put("CSV with one row out of range: imported", Json.mapper().readTree(csv.body()).path("imported").asInt());
        expect("?languageGroup=%00", 400, send("GET", "/participants?languageGroup=%00", admin, null, null));
        // 7: identifiers
        HttpResponse<String> cohort = send("POST", "/cohorts?companyId=hi", admin, json, body("{\"name\":\"hostile\"}"));
        expect("a cohort to change members of", 201, cohort);
        long cohortId = Json.mapper().readTree(cohort.body()).path("id").asLong();
        expect("lone surrogate member id", 400, send("PUT", "/cohorts/" + cohortId + "/members", admin, json, body("{\"add\":[\"a\\ud800\"]}")));
        expect("invalid UTF-8 in a path", 400, send("PUT", "/participants/%FF", admin, json, body("{\"programme\":\"p\",\"enrolledOn\":\"2026-01-01\"}")));
        expect("C1 control in a participant id", 400, send("PUT", "/participants/a%C2%85", admin, json, body("{\"programme\":\"p\",\"enrolledOn\":\"2026-01-01\"}")));
        // 8: the 500s
        expect("empty body", 400, send("PUT", "/participants/u1", admin, json, HttpRequest.BodyPublishers.noBody()));
        expect("unknown charset", 415, send("PUT", "/participants/u1", admin, "application/json; charset=x-unknown", body("{}")));
        // 1 and 5 (the other half): tokens in URLs, forged and thin tokens
        expect("token in the URL of a write", 401, send("PUT", "/participants/u1?access_token=" + admin, null, json,
                body("{\"programme\":\"p\",\"enrolledOn\":\"2026-01-01\"}")));
        expect("forged token naming a script company", 401, send("GET", "/auth/me", forged("acme\"><img src=x onerror=alert(1)>"), null, null));
        expect("token valid only next year (nbf)", 401, send("GET", "/participants", token(b -> b.notBeforeTime(Date.from(Instant.now().plus(Duration.ofDays(365))))), null, null));
        expect("token with exp = 10^17", 401, send("GET", "/participants", token(b -> b.expirationTime(new Date(100_000_000_000_000_000L))), null, null));
        expect("trailing '=' on the signature", 401, send("GET", "/participants", admin + "=", null, null));
        // 6 (the other half): rate limit before any database work
        int tooMany = 0;
        for (int i = 0; i < 200; i++) {
            HttpResponse<String> res = send("GET", "/cohort/999999/metrics?metric=sroi&companyId=hi", admin, null, null);
            observe(res);
            if (res.statusCode() == 429) {
                tooMany++;
            }
        }
        cases.put("200 calls for a non-existent cohort over the limit: 429s", tooMany);
    }

    /**
     * Finding 4 (the other half): a head that never ends, on /health and on the stream path, must be closed once
     * GATEWAY_READ_TIMEOUT_SECONDS (3 here) is over; a head ending in bare LF is answered 400 at once. Figures in
     * seconds; not counted among the answers (they are not requests that complete).
     */
    private void connectionCases() throws Exception {
        for (String partial : List.of("GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: ", "GET /stream/updates HTTP/1.1\r\nHost: a\r\nX-Slow: ")) {
            try (Socket s = new Socket("127.0.0.1", fx.server.port())) {
                s.setSoTimeout(60_000);
                long t0 = System.nanoTime();
                s.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
                byte[] rest = s.getInputStream().readAllBytes(); // until the server closes
                double seconds = (System.nanoTime() - t0) / 1e9;
                String name = "unfinished head on " + partial.split(" ")[1] + ": closed after (s)";
                cases.put(name, Math.round(seconds * 100) / 100.0);
                if (seconds > READ_TIMEOUT_S + 5) {
                    violations.add(Map.of("what", name, "why", "held " + seconds + " s, read timeout " + READ_TIMEOUT_S + " s",
                            "body", new String(rest, StandardCharsets.ISO_8859_1)));
                }
            }
        }
        try (Socket s = new Socket("127.0.0.1", fx.server.port())) {
            s.setSoTimeout(30_000);
            long t0 = System.nanoTime();
            s.getOutputStream().write("GET /health HTTP/1.1\nHost: a\n\n".getBytes(StandardCharsets.US_ASCII));
            byte[] head = s.getInputStream().readNBytes(12);
            double seconds = (System.nanoTime() - t0) / 1e9;
            String status = new String(head, StandardCharsets.ISO_8859_1);
            cases.put("bare-LF head: answer", status.trim() + " after " + Math.round(seconds * 1000) + " ms");
            if (!status.startsWith("HTTP/1.1 400") || seconds > 2) {
                violations.add(Map.of("what", "bare-LF head", "why", "answered '" + status + "' after " + seconds + " s"));
            }
        }
    }

    /**
     * Connection: close (Helidon 4.5.0 ignores it): a second request pipelined behind one asking to close must not be
     * answered, and the connection must end after the first answer — on a connection's first request (read by the
     * direct path) and on a later one (Helidon's HTTP/1 behind ConnectionCloseFilter).
     */
    private void connectionCloseCases() throws Exception {
        String plain = "GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n";
        String closing = "GET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        Map<String, String> pipelines = new LinkedHashMap<>();
        pipelines.put("Connection: close on a first request", closing + plain);
        pipelines.put("Connection: close on a later request", plain + closing + plain);
        for (Map.Entry<String, String> c : pipelines.entrySet()) {
            try (Socket s = new Socket("127.0.0.1", fx.server.port())) {
                s.setSoTimeout(10_000);
                long t0 = System.nanoTime();
                s.getOutputStream().write(c.getValue().getBytes(StandardCharsets.US_ASCII));
                java.io.ByteArrayOutputStream read = new java.io.ByteArrayOutputStream();
                try {
                    s.getInputStream().transferTo(read); // until the server closes
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // not closed within 10 s: judged below
                }
                String got = read.toString(StandardCharsets.ISO_8859_1);
                double seconds = (System.nanoTime() - t0) / 1e9;
                int answers = got.split("HTTP/1\\.1 ", -1).length - 1;
                int expected = c.getValue().split("Connection: close", -1)[0].split("GET ", -1).length - 1; // up to the closing one
                cases.put(c.getKey() + ": answers, seconds to close", answers + ", " + Math.round(seconds * 100) / 100.0);
                if (answers != expected || seconds > 5) {
                    violations.add(Map.of("what", c.getKey(), "why", answers + " answers (expected " + expected + ") in " + seconds + " s"));
                }
            }
        }
    }

    /** Seeded variations of the same attacks on every field that takes an id, a name, a date or a filter. */
    private void variations(Random random) throws Exception {
        String json = "application/json";
        for (int i = 0; i < 60; i++) {
            String company = "hv" + (i % 10);
            String admin = fx.tokens.admin(List.of(company));
            String h = HOSTILE[random.nextInt(HOSTILE.length)] + (random.nextBoolean() ? "" : HOSTILE[random.nextInt(HOSTILE.length)]);
            String d = DATES[random.nextInt(DATES.length)];
            ObjectNode p = Json.mapper().createObjectNode().put("programme", random.nextBoolean() ? h : "p").put("enrolledOn", random.nextBoolean() ? d : "2026-01-01");
            if (random.nextBoolean()) {
                p.put("languageGroup", h);
            }
            observe(send("PUT", "/participants/" + URLEncoder.encode(h, StandardCharsets.UTF_8).replace("+", "%20"), admin, json, body(p.toString())));
            observe(send("PUT", "/participants/u" + i, admin, json, body(p.toString())));
            observe(send("GET", "/participants?languageGroup=" + URLEncoder.encode(h, StandardCharsets.UTF_8) + "&programme=" + rawEscape(random), admin, null, null));
            observe(send("POST", "/participants:import", admin, "text/csv", body("userId,programme,enrolledOn\n\"" + h.replace("\"", "\"\"") + "\",p," + d + "\nv" + i + ",p,2026-01-01\n")));
            observe(send("POST", "/cohorts?companyId=" + company, admin, json, body(Json.mapper().createObjectNode().put("name", h + i).put("description", h).toString())));
            observe(send("GET", "/cohort/1/trends?metric=sroi&companyId=" + company + "&startDate=" + URLEncoder.encode(d, StandardCharsets.UTF_8)
                    + "&endDate=" + URLEncoder.encode(DATES[random.nextInt(DATES.length)], StandardCharsets.UTF_8), admin, null, null));
        }
    }

    /** A raw, possibly invalid, percent-escape sequence (invalid UTF-8, encoded surrogates, NUL). */
    private static String rawEscape(Random random) {
        String[] raw = {"%FF", "%C3", "%ED%A0%80", "%00", "%C2%85", "caf%C3%A9", "%F4%90%80%80", "%E2%80%AE", "ok"};
        return raw[random.nextInt(raw.length)];
    }

    /**
     * A large upload over a raw socket (ChunkedUpload): the answer's time is when its status line arrived, not when an
     * HTTP client library would have finished sending; how much was sent by then is recorded too.
     */
    private void upload(String name, int status, String requestLine, String token, String contentType, String first, String unit,
                        long size) throws Exception {
        ChunkedUpload.Answer a = ChunkedUpload.send(fx.server.port(), requestLine, token, contentType, first, unit, size);
        sent++;
        byStatus.merge(a.status(), 1, Integer::sum);
        if (a.nanosToAnswer() > slowestNanos) {
            slowestNanos = a.nanosToAnswer();
            slowest = requestLine + " (" + size + " bytes, chunked) -> " + a.status();
        }
        cases.put(name, a.status() == status ? a.status() + " after " + a.sentBeforeAnswer() + " of " + size + " bytes sent, "
                + a.nanosToAnswer() / 1_000_000 + " ms" : "expected " + status + ", got " + a.status() + ": " + cut(a.body()));
        JsonNode j = Json.mapper().readTree(a.body());
        if (a.status() != status || !j.path("requestId").isTextual()) {
            violations.add(Map.of("what", name, "status", a.status(), "body", cut(a.body())));
        }
    }

    private void expect(String name, int status, HttpResponse<String> res) {
        observe(res);
        cases.put(name, res.statusCode() == status ? res.statusCode() : "expected " + status + ", got " + res.statusCode() + ": " + cut(res.body()));
        if (res.statusCode() != status) {
            violation(name, res, "expected " + status);
        }
    }

    /** Checks the rules every answer must keep (no 5xx; errors as JSON with a request id and nothing of a store). */
    private void observe(HttpResponse<String> res) {
        String body = res.body().toLowerCase();
        if (res.statusCode() >= 500) {
            violation("5xx", res, "a server error for client input");
        }
        if (res.statusCode() >= 400 && res.statusCode() != 414) {
            try {
                JsonNode j = Json.mapper().readTree(res.body());
                if (!j.path("requestId").isTextual()) {
                    violation("no requestId", res, "error body without requestId");
                }
            } catch (Exception e) {
                violation("not JSON", res, "error body is not JSON");
            }
            for (String leak : LEAKS) {
                if (body.contains(leak)) {
                    violation("leak", res, "error body contains '" + leak + "'");
                }
            }
        }
    }

    private void violation(String what, HttpResponse<String> res, String why) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("what", what);
        v.put("request", res.request().method() + " " + cut(res.request().uri().getRawPath() + "?" + res.request().uri().getRawQuery()));
        v.put("status", res.statusCode());
        v.put("why", why);
        v.put("body", cut(res.body()));
        violations.add(v);
    }

    private static String cut(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }

    private HttpResponse<String> send(String method, String pathAndQuery, String token, String contentType, HttpRequest.BodyPublisher body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fx.base() + pathAndQuery)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body);
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        long t0 = System.nanoTime();
        HttpResponse<String> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        long took = System.nanoTime() - t0;
        sent++;
        byStatus.merge(res.statusCode(), 1, Integer::sum);
        if (took > slowestNanos) {
            slowestNanos = took;
            slowest = method + " " + cut(pathAndQuery) + " -> " + res.statusCode();
        }
        return res;
    }

    private static HttpRequest.BodyPublisher body(String s) {
        return HttpRequest.BodyPublishers.ofString(s);
    }

    private interface Claims {
        void apply(JWTClaimsSet.Builder b);
    }

    /** An admin token of company hi, signed with the fixture's secret, with one claim changed. */
    private static String token(Claims change) throws Exception {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().subject("hostile").claim("companies", List.of("hi")).claim("roles", List.of("admin"))
                .issueTime(new Date()).expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1))));
        change.apply(b);
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), b.build());
        jwt.sign(new MACSigner(GatewayFixture.SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    /** A token whose claims name {@code company}, signed with a key that is not the gateway's. */
    private static String forged(String company) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("forger").claim("companies", List.of(company))
                .expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner("another-secret-of-at-least-thirty-two-bytes!!".getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }
}
