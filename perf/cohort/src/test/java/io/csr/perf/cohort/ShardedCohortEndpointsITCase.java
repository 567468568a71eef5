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
import io.csr.common.userdays.UserDailyMetrics;
import io.csr.gateway.Gateway;
import io.csr.gateway.GatewaySettings;
import io.csr.gateway.Main;
import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 22: the cohort endpoints of a gateway on the 2-shard layout (2 shards x 1 replica, CLICKHOUSE_CLUSTER, a
 * cluster the job module's orchestration starts in a process of its own) answer exactly what a gateway on one server
 * answers for the same rows, with the membership cache on and off and from both sources of the figures: the
 * observations (COHORT_DAILY_AGGREGATES=false) and the default, which picks per range from the rows of its months (the
 * parts of every shard's local tables on the cluster): the per-user days for March, whose rows hold 4 observations per
 * user-day, far above the 1.6 at which the estimate prefers them, and the observations for April, which holds 1; and
 * the default with the per-cohort months on (COHORT_MONTH_REFRESH_SECONDS), each side's months refreshed before the
 * calls, writing as many (cohort, month) rows on 2 shards as on one server:
 * /cohort/{id}/metrics, trends and overview, /cohort/compare and /cohort/top, for every company, its companies spread
 * over both shards.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ShardedCohortEndpointsITCase {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int COMPANIES = 6;
    /** March holds 4 observations per user-day (the default source reads the user days), April 1 (the observations). */
    private static final List<String> MONTHS = List.of("2026-03", "2026-04");

    @TempDir
    Path tmp;

    @Test
    void everyCohortEndpointAnswersOnTwoShardsWhatOneServerAnswersWithTheCacheOnAndOff() throws Exception {
        String id = UUID.randomUUID().toString().replace("-", "").substring(0, 8).toLowerCase(Locale.ROOT);
        String ns = "it_shc_" + id;
        Process clusterProcess = ClusterProcess.start(tmp.resolve("cluster"), "it_shc_" + id, 2, 1, tmp.resolve("cluster.log"));
        List<WebServer> servers = new ArrayList<>();
        List<Gateway> gateways = new ArrayList<>();
        CsrConfig base = CsrConfig.fromEnvironment().with(Map.of(ConfigKey.CLICKHOUSE_DATABASE.name(), ns,
                ConfigKey.POSTGRES_SCHEMA.name(), ns, ConfigKey.REDIS_KEY_PREFIX.name(), ns + ":", ConfigKey.GATEWAY_PORT.name(), "0"));
        PostgresSettings pg = PostgresSettings.from(base);
        try {
            List<String> ready = ClusterProcess.awaitReady(clusterProcess, 2, tmp.resolve("cluster.log"));
            CsrConfig sharded = base.with(Map.of(ConfigKey.CLICKHOUSE_URL.name(), ready.get(1), ConfigKey.CLICKHOUSE_CLUSTER.name(), ready.get(0)));
            try (java.sql.Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + ns);
            }
            Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
            try (ClickHouseAccess one = ClickHouseAccess.open(ClickHouseSettings.from(base));
                 ClickHouseAccess two = ClickHouseAccess.open(ClickHouseSettings.from(sharded))) {
                try {
                    for (ClickHouseAccess ch : List.of(one, two)) {
                        ch.createDatabaseIfMissing();
                        Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                        fill(ch);
                    }
                    for (String shard : ready.subList(1, ready.size())) {
                        try (ClickHouseAccess local = ClickHouseAccess.open(new ClickHouseSettings(shard, "default", "", ns, false, 30_000))) {
                            assertThat(local.queryLong("SELECT count() FROM metrics_timeseries_local")).as("rows on %s", shard).isPositive();
                        }
                    }
                    // per source: COHORT_DAILY_AGGREGATES false: the observations; true: the default (see above); and with
                    // COHORT_MONTH_REFRESH_SECONDS on, the per-cohort months (refreshed here, not by the schedule)
                    Map<String, Map<String, String>> answers = new LinkedHashMap<>();
                    Map<String, Long> months = new LinkedHashMap<>();
                    for (String source : List.of("false", "true", "months")) {
                        Map<String, String> bySource = answers.computeIfAbsent(source, k -> new LinkedHashMap<>());
                        for (String cacheRows : List.of("2000000", "0")) {
                            Map<String, String> settings = Map.of(ConfigKey.COHORT_MEMBERSHIP_CACHE_ROWS.name(), cacheRows,
                                    ConfigKey.COHORT_DAILY_AGGREGATES.name(), String.valueOf(!source.equals("false")),
                                    ConfigKey.COHORT_MONTH_REFRESH_SECONDS.name(), source.equals("months") ? "86400" : "0");
                            String single = start(base.with(settings), pg, servers, gateways);
                            String onShards = start(sharded.with(settings), pg, servers, gateways);
                            String secret = GatewaySettings.from(base).jwtSecret();
                            for (int c = 0; c < COMPANIES; c++) {
                                String token = token(secret, "co-" + c);
                                if (source.equals("months")) {
                                    int onOne = gateways.get(gateways.size() - 2).cohorts().refreshCohortMonths("co-" + c);
                                    int onTwo = gateways.get(gateways.size() - 1).cohorts().refreshCohortMonths("co-" + c);
                                    assertThat(onTwo).as("co-%d cohort months written on 2 shards (%d on one server)", c, onOne).isEqualTo(onOne);
                                    months.merge("co-" + c, (long) onOne, Long::sum);
                                }
                                for (String[] call : calls()) {
                                    JsonNode expected = send(single, call, token);
                                    JsonNode actual = send(onShards, call, token);
                                    assertThat(actual).as("co-%d %s %s, cache rows %s, source %s", c, call[0], call[1], cacheRows,
                                            source).isEqualTo(expected);
                                    bySource.put("co-" + c + " " + call[1] + (call[2] == null ? "" : " " + call[2]), expected.toString());
                                }
                            }
                        }
                        assertThat(bySource.values()).as("the answers are not empty").allMatch(a -> a.contains("\"count\"") || a.contains("\"cohorts\""));
                    }
                    // the user days' quantiles come from bins (within 0.5 % of quantilesExact): answers that differ from the
                    // observations' show that both sides really read the user days for March; April's must be the observations'
                    // (but /cohort/top's: with one observation per user-day its estimate ties, and a tie reads the user days)
                    Map<Boolean, Long> differing = answers.get("true").entrySet().stream()
                            .filter(e -> !e.getValue().equals(answers.get("false").get(e.getKey())))
                            .filter(e -> e.getKey().contains("2026-03") || !e.getKey().contains("/cohort/top"))
                            .collect(java.util.stream.Collectors.partitioningBy(e -> e.getKey().contains("2026-03"), java.util.stream.Collectors.counting()));
                    long fromBins = differing.get(true);
                    assertThat(fromBins).as("March answers of the default source that differ from the observations' (quantiles from bins)").isPositive();
                    assertThat(differing.get(false)).as("April answers of the default source that differ from the observations'").isZero();
                    assertThat(months.values()).as("cohort months written per company").allMatch(n -> n > 0);
                    System.out.println("[ShardedCohortEndpointsITCase] " + answers.get("false").size() + " calls per source, equal on 2 shards and one "
                            + "server, cache on and off, observations, default and months (" + fromBins + " March answers from the user days "
                            + "differ from the observations'; cohort months written per company " + months + ")");
                } finally {
                    for (WebServer s : servers) {
                        s.stop();
                    }
                    for (Gateway g : gateways) {
                        g.close();
                    }
                    one.dropDatabase();
                    two.dropDatabase();
                    try (java.sql.Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
                        st.execute("DROP SCHEMA IF EXISTS " + ns + " CASCADE");
                    }
                }
            }
        } catch (Throwable t) {
            System.err.println("cluster log:\n" + Files.readString(tmp.resolve("cluster.log")));
            throw t;
        } finally {
            ClusterProcess.stop(clusterProcess);
        }
    }

    /** Method, path and body of each call: every cohort endpoint over both cohorts. */
    private static List<String[]> calls() {
        List<String[]> calls = new ArrayList<>();
        for (String month : MONTHS) {
            String start = month + "-01";
            String end = java.time.YearMonth.parse(month).atEndOfMonth().toString();
            String range = "metric=sroi&startDate=" + start + "&endDate=" + end;
            for (int cohort = 1; cohort <= 2; cohort++) {
                for (String what : List.of("metrics", "trends", "overview")) {
                    calls.add(new String[] {"GET", "/cohort/" + cohort + "/" + what + "?" + range, null});
                }
            }
            calls.add(new String[] {"POST", "/cohort/compare", "{\"cohortIds\":[1,2],\"metric\":\"sroi\",\"startDate\":\"" + start
                    + "\",\"endDate\":\"" + end + "\"}"});
            calls.add(new String[] {"GET", "/cohort/top?" + range, null});
        }
        return calls;
    }

    /** 6 companies, 2 cohorts each over 12 users (one member who left), 3 days of observations a month, and their user days. */
    private static void fill(ClickHouseAccess ch) {
        List<Map<String, Object>> cohorts = new ArrayList<>();
        List<Map<String, Object>> members = new ArrayList<>();
        List<Map<String, Object>> observations = new ArrayList<>();
        for (int c = 0; c < COMPANIES; c++) {
            String company = "co-" + c;
            cohorts.add(row("id", 1, "company_id", company, "name", "even", "description", "", "created_at", "2026-01-01 00:00:00",
                    "updated_at", "2026-01-01 00:00:00", "deleted", 0, "version", 1));
            cohorts.add(row("id", 2, "company_id", company, "name", "thirds", "description", "", "created_at", "2026-01-01 00:00:00",
                    "updated_at", "2026-01-01 00:00:00", "deleted", 0, "version", 1));
            for (int u = 0; u < 12; u++) {
                String user = "u" + u;
                if (u % 2 == 0) {
                    members.add(member(1, company, user, u == 4 ? 0 : 1));
                }
                if (u % 3 == 0) {
                    members.add(member(2, company, user, 1));
                }
                for (int d = 0; d < 3; d++) {
                    for (int k = 0; k < 4; k++) { // March: 4 a user-day, April: 1 (see MONTHS)
                        for (String month : k == 0 ? MONTHS : MONTHS.subList(0, 1)) {
                            observations.add(row("company_id", company, "metric", "sroi", "user_id", user,
                                    "ts", month + "-1" + d + " 1" + (u % 10) + ":1" + k + ":00", "ts_ms", 0,
                                    "value", c * 100 + u * 3.17 + d * 0.53 + k * 1.093, "event_id", company + "-" + user + "-" + month + "-" + d + "-" + k));
                        }
                    }
                }
            }
        }
        ch.insertRows("cohorts", cohorts);
        ch.insertRows("user_cohorts", members);
        ch.insertRows("metrics_timeseries", observations);
        ch.execute(UserDailyMetrics.fillAll());
    }

    private static Map<String, Object> member(long cohort, String company, String user, int active) {
        return row("cohort_id", cohort, "company_id", company, "user_id", user, "joined_at", "2026-01-01 00:00:00",
                "left_at", active == 1 ? "0000-00-00 00:00:00" : "2026-01-02 00:00:00", "active", active, "version", 1);
    }

    private static Map<String, Object> row(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    /** A gateway in this JVM on a free port with {@code config}; returns its base URL. */
    private static String start(CsrConfig config, PostgresSettings pg, List<WebServer> servers, List<Gateway> gateways) {
        GatewaySettings settings = GatewaySettings.from(config);
        Gateway gateway = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(config)), pg, Clock.systemUTC());
        gateways.add(gateway);
        WebServer server = Main.server(settings, gateway).build().start();
        servers.add(server);
        return "http://127.0.0.1:" + server.port();
    }

    private static JsonNode send(String base, String[] call, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + call[1])).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30));
        b = call[2] == null ? b.GET() : b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(call[2]));
        HttpResponse<String> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(call[0] + " " + base + call[1] + " -> " + res.body()).isEqualTo(200);
        return Json.mapper().readTree(res.body());
    }

    private static String token(String secret, String company) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("it").claim("companies", List.of(company)).claim("roles", List.of("admin"))
                .expirationTime(Date.from(Instant.now().plusSeconds(3_600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }
}
