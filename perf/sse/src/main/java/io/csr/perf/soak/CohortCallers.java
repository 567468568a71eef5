package io.csr.perf.soak;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.perf.sse.DevToken;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The soak's cohort callers: one static cohort per traffic company, created and changed through the gateway's
 * management API ({@code POST /cohorts}, {@code PUT /cohorts/{id}/members}: members u0–u19, then halfway through the
 * traffic u20–u24 join and u0–u2 leave, a change the job replicates to ClickHouse under the faults), and
 * {@code GET /cohort/{id}/metrics} asked every {@value #PERIOD_MS} ms all along (answers counted by status: what a
 * caller sees during a fault). The verdict ({@link #mismatches}): for every cohort and metric, the final answer equals
 * a recomputation from the soak's ledger over the members it ends with — users, count, min and max exact, avg and
 * stddev to 1e-6, p50/p75/p95 within 1 % of the value {@code quantilesExact} takes (the rank ⌊q·n⌋ of the sorted
 * values).
 */
final class CohortCallers {
    static final List<String> METRICS = List.of("sroi", "vis", "hours_volunteered", "q2q_clarity");
    static final long PERIOD_MS = 2_000;
    static final double QUANTILE_TOLERANCE = 0.01;

    /** One company's cohort: its id and the members it has now (as the soak last set them). */
    static final class Cohort {
        final String company;
        final long id;
        final Set<String> members = new LinkedHashSet<>();

        Cohort(String company, long id) {
            this.company = company;
            this.id = id;
        }
    }

    private final URI gateway;
    private final String secret = DevToken.secretFromEnvironment();
    private final List<Cohort> cohorts = new ArrayList<>();
    private final Map<String, Long> answers = new TreeMap<>();
    private final Map<String, String> examples = new TreeMap<>();
    private final long changeAtMs;
    private volatile boolean stop;
    private volatile boolean changed;
    private Thread thread;

    /** Creates one cohort per company with members u0–u19; the membership change comes at {@code changeAtMs} (wall clock). */
    CohortCallers(URI gateway, List<String> companies, long changeAtMs) throws InterruptedException {
        this.gateway = gateway;
        this.changeAtMs = changeAtMs;
        for (String c : companies) {
            JsonNode created = sendUntilOk(c, "POST", "/cohorts", "{\"name\":\"soak members\"}", 201);
            Cohort cohort = new Cohort(c, created.get("id").asLong());
            List<String> add = new ArrayList<>();
            for (int u = 0; u < 20; u++) {
                add.add("u" + u);
            }
            sendUntilOk(c, "PUT", "/cohorts/" + cohort.id + "/members", Json.mapper().createObjectNode()
                    .set("add", Json.mapper().valueToTree(add)).toString(), 200);
            cohort.members.addAll(add);
            cohorts.add(cohort);
        }
    }

    List<Cohort> cohorts() {
        return List.copyOf(cohorts);
    }

    void start() {
        thread = Thread.ofPlatform().daemon(true).name("soak-cohort-callers").start(this::loop);
    }

    void stop() throws InterruptedException {
        stop = true;
        if (thread != null) {
            thread.join(30_000);
        }
    }

    /** Answers of the calls made during the run, by HTTP status ("error" when no answer came). */
    synchronized Map<String, Long> answers() {
        return new TreeMap<>(answers);
    }

    /** The first answer of each status other than 200: what a caller was told during a fault. */
    synchronized Map<String, String> examples() {
        return new TreeMap<>(examples);
    }

    boolean membershipChanged() {
        return changed;
    }

    private void loop() {
        int n = 0;
        while (!stop) {
            if (!changed && System.currentTimeMillis() >= changeAtMs) {
                try {
                    changeMembers();
                } catch (InterruptedException e) {
                    return;
                }
            }
            Cohort c = cohorts.get(n % cohorts.size());
            String metric = METRICS.get((n / cohorts.size()) % METRICS.size());
            n++;
            String status;
            String example;
            try {
                HttpResponse<String> r = send(c.company, "GET", metricsPath(c, metric, LocalDate.now(ZoneOffset.UTC).minusDays(3),
                        LocalDate.now(ZoneOffset.UTC)), null);
                status = Integer.toString(r.statusCode());
                example = r.body();
            } catch (IOException e) {
                status = "error";
                example = e.toString();
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                answers.merge(status, 1L, Long::sum);
                if (!status.equals("200")) {
                    examples.putIfAbsent(status, example.length() > 300 ? example.substring(0, 300) : example);
                }
            }
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** u20–u24 join, u0–u2 leave, in every cohort: retried until the gateway took it (it may be down meanwhile). */
    private void changeMembers() throws InterruptedException {
        List<String> add = List.of("u20", "u21", "u22", "u23", "u24");
        List<String> remove = List.of("u0", "u1", "u2");
        for (Cohort c : cohorts) {
            sendUntilOk(c.company, "PUT", "/cohorts/" + c.id + "/members", Json.mapper().createObjectNode()
                    .<com.fasterxml.jackson.databind.node.ObjectNode>set("add", Json.mapper().valueToTree(add))
                    .set("remove", Json.mapper().valueToTree(remove)).toString(), 200);
            synchronized (this) {
                c.members.addAll(add);
                remove.forEach(c.members::remove);
            }
        }
        changed = true;
        Soak.say("cohort members changed: u20-u24 joined, u0-u2 left (" + cohorts.size() + " cohorts)");
    }

    static String metricsPath(Cohort c, String metric, LocalDate from, LocalDate to) {
        return "/cohort/" + c.id + "/metrics?metric=" + metric + "&startDate=" + from + "&endDate=" + to;
    }

    /**
     * Every cohort × metric whose answer differs from the recomputation from {@code ledger} over [from, to]; empty when
     * all agree. {@code compared} receives each comparison (expected and answered) for the report.
     */
    List<String> mismatches(List<Traffic.Entry> ledger, LocalDate from, LocalDate to, List<Map<String, Object>> compared)
            throws InterruptedException {
        List<String> out = new ArrayList<>();
        compared.clear();
        for (Cohort c : cohorts) {
            Set<String> members;
            synchronized (this) {
                members = new HashSet<>(c.members);
            }
            for (String metric : METRICS) {
                Map<String, Object> expected = recompute(ledger, c.company, members, metric, from, to);
                JsonNode got;
                try {
                    HttpResponse<String> r = send(c.company, "GET", metricsPath(c, metric, from, to), null);
                    if (r.statusCode() != 200) {
                        out.add(c.company + " cohort " + c.id + " " + metric + ": HTTP " + r.statusCode() + " " + r.body());
                        continue;
                    }
                    got = Json.mapper().readTree(r.body());
                } catch (IOException e) {
                    out.add(c.company + " cohort " + c.id + " " + metric + ": no answer (" + e.getMessage() + ")");
                    continue;
                }
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("company", c.company);
                row.put("cohortId", c.id);
                row.put("metric", metric);
                row.put("expected", expected);
                row.put("answered", Json.mapper().convertValue(got, Map.class));
                compared.add(row);
                String diff = difference(expected, got);
                if (diff != null) {
                    out.add(c.company + " cohort " + c.id + " " + metric + ": " + diff);
                }
            }
        }
        return out;
    }

    /**
     * The figures {@code /cohort/{id}/metrics} must answer, from the ledger alone: every distinct valid event of the
     * company and metric (a duplicate counted once) by a member, occurred in [from, to] (UTC days).
     */
    static Map<String, Object> recompute(List<Traffic.Entry> ledger, String company, Set<String> members, String metric,
                                         LocalDate from, LocalDate to) {
        Map<String, double[]> byEvent = new HashMap<>();
        Set<String> users = new HashSet<>();
        for (Traffic.Entry e : ledger) {
            var p = e.published();
            if (!p.valid() || !company.equals(p.companyId()) || !metric.equals(p.metric()) || e.userId() == null
                    || !members.contains(e.userId())) {
                continue;
            }
            LocalDate day = Instant.ofEpochMilli(p.occurredAtMs()).atZone(ZoneOffset.UTC).toLocalDate();
            if (day.isBefore(from) || day.isAfter(to)) {
                continue;
            }
            if (byEvent.putIfAbsent(p.eventId(), new double[]{p.value()}) == null) {
                users.add(e.userId());
            }
        }
        double[] v = byEvent.values().stream().mapToDouble(a -> a[0]).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("users", (long) users.size());
        m.put("count", (long) v.length);
        if (v.length == 0) {
            return m;
        }
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        double avg = sum / v.length;
        double sq = 0;
        for (double x : v) {
            sq += (x - avg) * (x - avg);
        }
        m.put("avg", avg);
        m.put("min", v[0]);
        m.put("max", v[v.length - 1]);
        m.put("p50", exactQuantile(v, 0.5));
        m.put("p75", exactQuantile(v, 0.75));
        m.put("p95", exactQuantile(v, 0.95));
        m.put("stddev", Math.sqrt(sq / v.length));
        return m;
    }

    /** ClickHouse's quantileExact of sorted values: the element at rank ⌊q·n⌋ (the last for q·n ≥ n). */
    static double exactQuantile(double[] sorted, double q) {
        return sorted[(int) Math.min(sorted.length - 1, (long) (q * sorted.length))];
    }

    /** The first difference between the recomputation and an answer, or null when they agree. */
    static String difference(Map<String, Object> expected, JsonNode got) {
        for (String k : List.of("users", "count")) {
            if (got.path(k).asLong(-1) != (Long) expected.get(k)) {
                return k + " " + got.path(k) + ", the ledger " + expected.get(k);
            }
        }
        if ((Long) expected.get("count") == 0) {
            return null;
        }
        for (String k : List.of("min", "max")) {
            if (!within(got.path(k), (Double) expected.get(k), 1e-9)) {
                return k + " " + got.path(k) + ", the ledger " + expected.get(k);
            }
        }
        for (String k : List.of("avg", "stddev")) {
            if (!within(got.path(k), (Double) expected.get(k), 1e-6)) {
                return k + " " + got.path(k) + ", the ledger " + expected.get(k);
            }
        }
        for (String k : List.of("p50", "p75", "p95")) {
            if (!within(got.path(k), (Double) expected.get(k), QUANTILE_TOLERANCE)) {
                return String.format(Locale.ROOT, "%s %s, the ledger %s (more than %.0f %% apart)", k, got.path(k), expected.get(k),
                        QUANTILE_TOLERANCE * 100);
            }
        }
        return null;
    }

    private static boolean within(JsonNode got, double expected, double relative) {
        return got.isNumber() && Math.abs(got.asDouble() - expected) <= relative * Math.max(Math.abs(expected), 1e-9);
    }

    private JsonNode sendUntilOk(String company, String method, String path, String body, int expect) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = send(company, method, path, body);
                if (r.statusCode() == expect) {
                    return Json.mapper().readTree(r.body());
                }
                last = "HTTP " + r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException(method + " " + path + " for " + company + " did not answer " + expect + " within 120 s: " + last);
    }

    private HttpResponse<String> send(String company, String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(gateway.resolve(path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + DevToken.forCompany(secret, company, List.of("admin")))
                .header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return OwnServices.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
