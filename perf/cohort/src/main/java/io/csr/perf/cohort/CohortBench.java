package io.csr.perf.cohort;

import io.csr.common.cli.Cli;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code csr bench cohort [--rows 10000000] [--users 100000] [--cohorts 200] [--requests 40] [--range-days 30]
 * [--figures auto|observations] [--regenerate] [--database csr_bench_cohort] [--rule-cohorts 200]}: the cohort API over HTTP against generated data. A gateway runs in this
 * process (own port, own PostgreSQL schema for the audit log, rate limit lifted) on a ClickHouse database of its own,
 * so the live {@code csr} database is never touched. Requests are sequential (latency, not throughput); each
 * endpoint gets warm-up calls first. Results: {@code perf/results/cohort-<date>-<range>d.json}.
 */
public final class CohortBench {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private CohortBench() {
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    /** The benchmark's command line, on the CLI contract (io.csr.common.cli.Cli); bin/csr bench cohort hands it its options. */
    @Command(name = "bench cohort", mixinStandardHelpOptions = true, description = "The cohort API over HTTP against generated data.")
    static final class Options implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--rows", paramLabel = "N", description = "observations generated (default: ${DEFAULT-VALUE})")
        long rows = 10_000_000L;

        @Option(names = "--users", paramLabel = "N", description = "users (default: ${DEFAULT-VALUE})")
        int users = 100_000;

        @Option(names = "--cohorts", paramLabel = "N", description = "static cohorts (default: ${DEFAULT-VALUE})")
        int cohorts = 200;

        @Option(names = "--requests", paramLabel = "N", description = "requests per endpoint (default: ${DEFAULT-VALUE})")
        int requests = 40;

        @Option(names = "--range-days", paramLabel = "1..365", description = "days each request covers, ending 2026-12-31 (default: ${DEFAULT-VALUE})")
        int rangeDays = 30;

        @Option(names = "--figures", paramLabel = "auto|observations", description = "auto: daily rows or observations per request, "
                + "whichever reads less (COHORT_DAILY_AGGREGATES=true); observations: metrics_timeseries only (default: ${DEFAULT-VALUE})")
        String figures = "auto";

        @Option(names = "--layout", paramLabel = "compacted|as-inserted", description = "months merged into one part, as retention "
                + "leaves them, or the parts the generating INSERT left (default: ${DEFAULT-VALUE})")
        String layout = "compacted";

        @Option(names = "--regenerate", description = "generate the data again although it is there")
        boolean regenerate;

        @Option(names = "--database", paramLabel = "NAME", description = "ClickHouse database and PostgreSQL schema (default: ${DEFAULT-VALUE})")
        String database = "csr_bench_cohort";

        @Option(names = "--note", paramLabel = "TEXT", description = "a note for the results (default: ${DEFAULT-VALUE})")
        String note = "load averages before and after are the measure of what ran beside";

        @Option(names = "--rule-cohorts", paramLabel = "N", description = "rule cohorts to recompute; 0: previews only, -1: none (default: ${DEFAULT-VALUE})")
        int ruleCohorts = 200;

        @Override
        public Integer call() throws Exception {
            if (!figures.equals("auto") && !figures.equals("observations")) {
                throw Cli.usage(spec, "--figures " + figures + ": use auto (COHORT_DAILY_AGGREGATES=true, the default: per request the daily"
                        + " rows or the observations, whichever reads less) or observations (metrics_timeseries, COHORT_DAILY_AGGREGATES=false)");
            }
            if (rangeDays < 1 || rangeDays > 365) {
                throw Cli.usage(spec, "--range-days " + rangeDays + ": the data covers 2026, so 1..365 (ranges end on 2026-12-31)");
            }
            if (!layout.equals("compacted") && !layout.equals("as-inserted")) {
                throw Cli.usage(spec, "--layout " + layout + ": use compacted (months merged into one part, as the"
                        + " job's retention run leaves them) or as-inserted (the parts the generating INSERT left)");
            }
            run(this);
            return 0;
        }
    }

    private static void run(Options o) throws Exception {
        CohortData data = new CohortData(o.rows, o.users, o.cohorts, 50, 20_000);
        int requests = o.requests;
        int rangeDays = o.rangeDays;
        String database = o.database;
        String figures = o.figures;

        long partsPerMonth;
        long userDayRows;
        CsrConfig base = CsrConfig.fromEnvironment();
        Map<String, String> values = new HashMap<>();
        values.put(ConfigKey.CLICKHOUSE_DATABASE.name(), database);
        values.put(ConfigKey.POSTGRES_SCHEMA.name(), database);
        values.put(ConfigKey.GATEWAY_PORT.name(), "0");
        values.put(ConfigKey.REDIS_KEY_PREFIX.name(), database + ":");
        values.put(ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "1000000");
        values.put(ConfigKey.COHORT_DAILY_AGGREGATES.name(), Boolean.toString(figures.equals("auto")));
        values.put(ConfigKey.COHORT_RULE_REFRESH_SECONDS.name(), "0"); // the bench times the recompute pass itself
        // generating the data and the months' first pass are single statements of tens of seconds on a busy machine (the
        // 10M generation took over the default 30 s at load 18); the requests themselves are measured, not bounded
        values.put(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS.name(), Long.toString(Math.max(600_000,
                base.getLong(ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS, 1, Integer.MAX_VALUE))));
        // per-cohort months while COHORT_MONTH_REFRESH_SECONDS > 0 (the default; COHORT_MONTH_REFRESH_SECONDS=0 measures
        // without them): the bench runs and times the refresh itself, below, and the schedule stays out of the measurement
        boolean cohortMonthsOn = figures.equals("auto") && base.getLong(ConfigKey.COHORT_MONTH_REFRESH_SECONDS, 0, 86_400) > 0;
        values.put(ConfigKey.COHORT_MONTH_REFRESH_SECONDS.name(), cohortMonthsOn ? "86400" : "0");
        CsrConfig config = base.with(values);

        try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
            ch.createDatabaseIfMissing();
            Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
            String layout = o.layout;
            boolean compactedNow = data.presentIn(ch) && data.anyMonthMerged(ch);
            if (o.regenerate || !data.presentIn(ch) || (layout.equals("as-inserted") && compactedNow)) {
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
            userDayRows = ch.queryLong("SELECT count() AS c FROM user_daily_metrics");
            System.out.printf("figures: %s; user_daily_metrics holds %d rows for %d observations (%.2f per daily row; auto reads the"
                    + " daily rows from 1.6)%n", figures, userDayRows, data.rows(), (double) data.rows() / Math.max(1, userDayRows));
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

            Map<String, Object> cohortMonths = new LinkedHashMap<>();
            if (cohortMonthsOn) {
                // what the gateway's schedule (COHORT_MONTH_REFRESH_SECONDS) keeps fresh: every closed month (before the
                // current UTC month, which is read from the observations) of every cohort; a second pass finds nothing stale
                for (String pass : List.of("first", "unchanged")) {
                    long t0 = System.nanoTime();
                    int written = gateway.cohorts().refreshCohortMonths(CohortData.COMPANY);
                    double s = (System.nanoTime() - t0) / 1e9;
                    System.out.printf("per-cohort months, %s pass: %d (cohort, month) computed in %.1f s%n", pass, written, s);
                    cohortMonths.put(pass + "PassSeconds", round(s));
                    cohortMonths.put(pass + "PassWritten", written);
                }
                cohortMonths.put("openMonth", java.time.YearMonth.now(ZoneOffset.UTC).toString());
            }
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
            out.put("figures", figures);
            out.put("userDayRows", userDayRows);
            out.put("cohortMonths", cohortMonths);
            out.put("layout", o.layout);
            out.put("maxPartsPerMonth", partsPerMonth);
            out.put("clickhouse", "18.16 (local), database " + database);
            out.put("cpus", Runtime.getRuntime().availableProcessors());
            out.put("loadAverageBefore", loadBefore);
            out.put("loadAverageAfter", loadAverage());
            out.put("note", o.note);
            out.put("endpoints", results);
            int ruleCohorts = o.ruleCohorts;
            if (ruleCohorts >= 0) { // -1 leaves rule cohorts out
                try (ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config))) {
                    out.put("ruleCohorts", RuleCohortBench.run(ch, pg, gateway.cohorts().rules(), baseUrl, token, data.users(), requests, ruleCohorts));
                }
            }
            Path dir = Migrations.sqlRoot().getParent().resolve("perf/results");
            Files.createDirectories(dir);
            Path file = dir.resolve("cohort-" + LocalDate.now(ZoneOffset.UTC) + "-" + rangeDays + "d"
                    + (o.layout.equals("compacted") ? "" : "-" + o.layout)
                    + (figures.equals("auto") ? "" : "-observations") + (data.rows() == 10_000_000L ? "" : "-" + data.rows() + "rows")
                    + ".json");
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
                .claim("roles", List.of("admin")) // POST /cohorts/preview is an admin's
                .expirationTime(Date.from(Instant.now().plusSeconds(3_600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    static double pct(double[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (Exception e) {
            return -1;
        }
    }
}
