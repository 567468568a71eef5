package io.csr.perf.cohort;

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

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * {@code csr bench cohort [--rows 10000000] [--users 100000] [--cohorts 200] [--requests 40] [--range-days 30]
 * [--regenerate] [--database csr_bench_cohort]}: the cohort API over HTTP against generated data. A gateway runs in this
 * process (own port, own PostgreSQL schema for the audit log, rate limit lifted) on a ClickHouse database of its own,
 * so the live {@code csr} database is never touched. Requests are sequential (latency, not throughput); each
 * endpoint gets warm-up calls first. Results: {@code perf/results/cohort-<date>-<range>d.json}.
 */
public final class CohortBench {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private CohortBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        CohortData data = new CohortData(Long.parseLong(opt.getOrDefault("rows", "10000000")),
                Integer.parseInt(opt.getOrDefault("users", "100000")), Integer.parseInt(opt.getOrDefault("cohorts", "200")), 50, 20_000);
        int requests = Integer.parseInt(opt.getOrDefault("requests", "40"));
        int rangeDays = Integer.parseInt(opt.getOrDefault("range-days", "30"));
        String database = opt.getOrDefault("database", "csr_bench_cohort");

        long partsPerMonth;
        CsrConfig base = CsrConfig.fromEnvironment();
        Map<String, String> values = new HashMap<>();
        values.put(ConfigKey.CLICKHOUSE_DATABASE.name(), database);
        values.put(ConfigKey.POSTGRES_SCHEMA.name(), database);
        values.put(ConfigKey.GATEWAY_PORT.name(), "0");
        values.put(ConfigKey.REDIS_KEY_PREFIX.name(), database + ":");
        values.put(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "1000000");
        CsrConfig config = base.with(values);

        try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            ch.createDatabaseIfMissing();
            Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
            String layout = opt.getOrDefault("layout", "compacted");
            if (!layout.equals("compacted") && !layout.equals("as-inserted")) {
                throw new IllegalArgumentException("--layout " + layout + ": use compacted (months merged into one part, as the"
                        + " job's retention run leaves them) or as-inserted (the parts the generating INSERT left)");
            }
            boolean compactedNow = data.presentIn(ch) && data.maxPartsPerMonth(ch) == 1;
            if (opt.containsKey("regenerate") || !data.presentIn(ch) || (layout.equals("as-inserted") && compactedNow)) {
                System.out.println("generating " + data + " into ClickHouse database " + database + " (about a minute) ...");
                long t0 = System.nanoTime();
                data.generate(ch);
                System.out.printf("generated in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            } else {
                System.out.println("reusing the data set already in " + database + " (--regenerate to rebuild it)");
            }
            if (layout.equals("compacted")) {
                long t0 = System.nanoTime();
                int merged = data.compact(ch);
                System.out.printf("layout compacted: %d months merged into one part in %.1f s%n", merged, (System.nanoTime() - t0) / 1e9);
            }
            partsPerMonth = data.maxPartsPerMonth(ch);
            System.out.println("layout " + layout + ": at most " + partsPerMonth + " parts per month of metrics_timeseries");
        }
        PostgresSettings pg = PostgresSettings.from(config);
        try (Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS " + database);
        }
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();

        GatewaySettings settings = GatewaySettings.from(config);
        Gateway gateway = new Gateway(settings, ClickHouseAccess.open(ClickHouseSettings.from(config)), pg, Clock.systemUTC());
        WebServer server = Main.server(settings, gateway).build().start();
        try {
            String baseUrl = "http://127.0.0.1:" + server.port();
            String token = token(settings.jwtSecret());
            LocalDate end = LocalDate.parse("2026-12-31");
            String range = "startDate=" + end.minusDays(rangeDays - 1) + "&endDate=" + end;
            Random rnd = new Random(42);
            Supplier<Integer> cohort = () -> 1 + rnd.nextInt(data.cohorts());
            Supplier<String> metric = () -> CohortData.METRICS.get(rnd.nextInt(CohortData.METRICS.size()));
            String[] intervals = {"day", "week", "month"};

            Map<String, Supplier<HttpRequest>> endpoints = new LinkedHashMap<>();
            endpoints.put("metrics", () -> get(baseUrl + "/cohort/" + cohort.get() + "/metrics?metric=" + metric.get() + "&" + range, token));
            endpoints.put("trends", () -> get(baseUrl + "/cohort/" + cohort.get() + "/trends?metric=" + metric.get() + "&interval="
                    + intervals[rnd.nextInt(3)] + "&" + range, token));
            endpoints.put("overview", () -> get(baseUrl + "/cohort/" + cohort.get() + "/overview?" + range, token));
            endpoints.put("compare", () -> {
                List<Integer> ids = new ArrayList<>();
                int n = 2 + rnd.nextInt(9);
                while (ids.size() < n) {
                    int id = cohort.get();
                    if (!ids.contains(id)) {
                        ids.add(id);
                    }
                }
                String body = "{\"cohortIds\":" + ids + ",\"metric\":\"" + metric.get() + "\",\"startDate\":\"" + end.minusDays(rangeDays - 1)
                        + "\",\"endDate\":\"" + end + "\"}";
                return HttpRequest.newBuilder(URI.create(baseUrl + "/cohort/compare")).header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
            });
            endpoints.put("top", () -> get(baseUrl + "/cohort/top?metric=" + metric.get() + "&limit=10&" + range, token));

            double loadBefore = loadAverage();
            Map<String, Object> results = new LinkedHashMap<>();
            System.out.printf("%-9s %8s %8s %8s %8s %8s  (ms, %d requests each, range %d days)%n", "endpoint", "p50", "p95", "p99", "max", "mean",
                    requests, rangeDays);
            for (Map.Entry<String, Supplier<HttpRequest>> e : endpoints.entrySet()) {
                for (int i = 0; i < 3; i++) {
                    call(e.getValue().get());
                }
                double[] ms = new double[requests];
                for (int i = 0; i < requests; i++) {
                    long t0 = System.nanoTime();
                    call(e.getValue().get());
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("requests", requests);
                r.put("p50Ms", round(pct(ms, 0.50)));
                r.put("p95Ms", round(pct(ms, 0.95)));
                r.put("p99Ms", round(pct(ms, 0.99)));
                r.put("maxMs", round(ms[ms.length - 1]));
                r.put("meanMs", round(Arrays.stream(ms).average().orElse(0)));
                results.put(e.getKey(), r);
                System.out.printf("%-9s %8.1f %8.1f %8.1f %8.1f %8.1f%n", e.getKey(), pct(ms, 0.5), pct(ms, 0.95), pct(ms, 0.99),
                        ms[ms.length - 1], Arrays.stream(ms).average().orElse(0));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("benchmark", "cohort");
            out.put("at", Instant.now().toString());
            out.put("data", Map.of("observations", data.rows(), "users", data.users(), "cohorts", data.cohorts(),
                    "cohortSizes", data.minSize() + ".." + data.maxSize(), "metrics", CohortData.METRICS.size(), "span", "2026 (365 days)"));
            out.put("rangeDays", rangeDays);
            out.put("layout", opt.getOrDefault("layout", "compacted"));
            out.put("maxPartsPerMonth", partsPerMonth);
            out.put("clickhouse", "18.16 (local), database " + database);
            out.put("cpus", Runtime.getRuntime().availableProcessors());
            out.put("loadAverageBefore", loadBefore);
            out.put("loadAverageAfter", loadAverage());
            out.put("note", opt.getOrDefault("note", "load averages before and after are the measure of what ran beside"));
            out.put("endpoints", results);
            Path dir = Migrations.sqlRoot().getParent().resolve("perf/results");
            Files.createDirectories(dir);
            Path file = dir.resolve("cohort-" + LocalDate.now(ZoneOffset.UTC) + "-" + rangeDays + "d"
                    + (opt.getOrDefault("layout", "compacted").equals("compacted") ? "" : "-" + opt.get("layout")) + ".json");
            Files.writeString(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(out) + "\n");
            System.out.println("results: " + file);
        } finally {
            server.stop();
            gateway.close();
        }
    }

    private static void call(HttpRequest req) throws Exception {
        HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException(req.uri() + " answered " + res.statusCode() + ": " + res.body());
        }
    }

    private static HttpRequest get(String url, String token) {
        return HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token).GET().build();
    }

    private static String token(String secret) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("bench").claim("companies", List.of(CohortData.COMPANY))
                .expirationTime(Date.from(Instant.now().plusSeconds(3_600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static double pct(double[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception e) {
            return -1;
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected '" + args[i] + "'; usage: csr bench cohort [--rows N] [--users N] [--cohorts N]"
                        + " [--requests N] [--range-days N] [--regenerate] [--database NAME] [--note TEXT]");
            }
            String key = args[i].substring(2);
            if (key.equals("regenerate")) {
                out.put(key, "true");
            } else if (i + 1 < args.length) {
                out.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
        }
        return out;
    }
}
