package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.gateway.cohort.CohortCalls.Call;
import io.csr.gateway.cohort.CohortCalls.Reply;
import io.csr.gateway.cohort.CohortParams.DateRange;
import io.csr.gateway.cohort.CohortParams.Interval;
import io.csr.gateway.cohort.CohortQueries.CohortRef;
import io.csr.gateway.cohort.CohortQueries.Figures;
import io.csr.gateway.cohort.CohortQueries.TopRow;
import io.csr.gateway.cohort.CohortQueries.TrendRow;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.RequestBodies;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The five read endpoints of Contract 4 under {@code /cohort}: figures of the users who are members now, from
 * ClickHouse only (so they keep answering while PostgreSQL is down). A cohort that does not exist, is deleted or
 * belongs to a company the token does not grant answers 404 — the same answer, so ids of other companies cannot be
 * probed.
 */
record CohortAnalyticsService(CohortCalls calls, CohortQueries queries, RequestBodies bodies, Clock clock) implements HttpService {

    @Override
    public void routing(HttpRules rules) {
        rules.get("/top", (req, res) -> calls.run(req, res, "/cohort/top", this::top))
                .post("/compare", (req, res) -> calls.run(req, res, "/cohort/compare", this::compare))
                .get("/{id}/metrics", (req, res) -> calls.run(req, res, "/cohort/{id}/metrics", this::metrics))
                .get("/{id}/trends", (req, res) -> calls.run(req, res, "/cohort/{id}/trends", this::trends))
                .get("/{id}/overview", (req, res) -> calls.run(req, res, "/cohort/{id}/overview", this::overview));
    }

    private LocalDate today() {
        return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    }

    private Reply metrics(Call call) {
        ServerRequest req = call.req;
        long id = CohortParams.id("id", req.path().pathParameters().get("id"));
        String metric = CohortParams.metric(query(req, "metric"));
        DateRange range = CohortParams.range(query(req, "startDate"), query(req, "endDate"), today());
        CohortRef cohort = cohort(call, id);
        return Reply.ok(metricsShape(cohort.id(), metric, range, queries.metrics(cohort, metric, range)));
    }

    private Reply trends(Call call) {
        ServerRequest req = call.req;
        long id = CohortParams.id("id", req.path().pathParameters().get("id"));
        String metric = CohortParams.metric(query(req, "metric"));
        Interval interval = CohortParams.interval(query(req, "interval"));
        DateRange range = CohortParams.range(query(req, "startDate"), query(req, "endDate"), today());
        CohortRef cohort = cohort(call, id);
        List<Map<String, Object>> points = new ArrayList<>();
        Double previousAvg = null;
        for (TrendRow row : queries.trends(cohort, metric, interval, range)) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("periodStart", row.periodStart().toString());
            p.put("count", row.count());
            p.put("avg", row.avg());
            p.put("changePct", changePct(previousAvg, row.avg()));
            points.add(p);
            previousAvg = row.avg();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("cohortId", cohort.id());
        body.put("metric", metric);
        body.put("interval", interval.wireName());
        body.put("points", points);
        return Reply.ok(body);
    }

    /** Percent change of the average against the previous point; null for the first point and when that average is 0. */
    static Double changePct(Double previousAvg, double avg) {
        if (previousAvg == null || previousAvg == 0.0) {
            return null;
        }
        return (avg - previousAvg) / Math.abs(previousAvg) * 100.0;
    }

    private Reply overview(Call call) {
        ServerRequest req = call.req;
        long id = CohortParams.id("id", req.path().pathParameters().get("id"));
        DateRange range = CohortParams.range(query(req, "startDate"), query(req, "endDate"), today());
        CohortRef cohort = cohort(call, id);
        List<Map<String, Object>> metrics = new ArrayList<>();
        queries.overview(cohort, range).forEach((metric, f) -> metrics.add(metricsShape(cohort.id(), metric, range, f)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("cohortId", cohort.id());
        body.put("metrics", metrics);
        return Reply.ok(body);
    }

    private Reply compare(Call call) {
        JsonNode body = bodies.jsonObject(call.req, "bad_body", "{\"cohortIds\":[1,2],\"metric\":\"sroi\"}");
        JsonNode ids = body.get("cohortIds");
        if (ids == null || !ids.isArray() || ids.size() < 2 || ids.size() > 10) {
            throw CohortParams.bad("cohortIds", "give an array of 2 to 10 cohort ids, e.g. {\"cohortIds\":[1,2],\"metric\":\"sroi\"}");
        }
        Set<Long> wanted = new LinkedHashSet<>();
        for (JsonNode n : ids) {
            if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 1) {
                throw CohortParams.bad("cohortIds", "'" + CohortParams.shown(n.toString()) + "' is not a cohort id (a positive integer)");
            }
            if (!wanted.add(n.asLong())) {
                throw CohortParams.bad("cohortIds", "cohort " + n.asLong() + " is listed twice; list each cohort once");
            }
        }
        String metric = CohortParams.metric(textField(body, "metric"));
        DateRange range = CohortParams.range(textField(body, "startDate"), textField(body, "endDate"), today());
        List<CohortRef> cohorts = new ArrayList<>();
        Map<Long, CohortRef> found = queries.find(wanted, call.companyId);
        for (long id : wanted) { // the first one missing, in the order asked, answers 404
            call.cohort(id);
            CohortRef c = found.get(id);
            if (c == null) {
                throw notFound(call, id);
            }
            cohorts.add(c);
        }
        Map<Long, Figures> figures = queries.compare(call.companyId, cohorts.stream().map(CohortRef::id).toList(), metric, range);
        call.aboutNoSingleCohort();
        call.detail("cohortIds=" + wanted);
        List<Map<String, Object>> out = new ArrayList<>();
        for (CohortRef c : cohorts) {
            out.add(metricsShape(c.id(), metric, range, figures.getOrDefault(c.id(), Figures.EMPTY)));
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("metric", metric);
        answer.put("cohorts", out);
        answer.put("differences", differences(cohorts, figures));
        return Reply.ok(answer);
    }

    /**
     * For each cohort after the first: its average minus the first cohort's, with the 95 % Welch interval over the
     * observations ({@link Welch}).
     */
    static List<Map<String, Object>> differences(List<CohortRef> cohorts, Map<Long, Figures> figures) {
        List<Map<String, Object>> out = new ArrayList<>();
        Figures base = figures.getOrDefault(cohorts.get(0).id(), Figures.EMPTY);
        for (CohortRef c : cohorts.subList(1, cohorts.size())) {
            Figures f = figures.getOrDefault(c.id(), Figures.EMPTY);
            Welch.Interval w = Welch.of(base.count(), base.avg(), base.stddev(), f.count(), f.avg(), f.stddev());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cohortId", c.id());
            m.put("baseCohortId", cohorts.get(0).id());
            m.put("difference", w.difference());
            m.put("confidence", Welch.CONFIDENCE);
            m.put("low", w.low());
            m.put("high", w.high());
            m.put("df", w.df());
            out.add(m);
        }
        return out;
    }

    private Reply top(Call call) {
        ServerRequest req = call.req;
        String metric = CohortParams.metric(query(req, "metric"));
        int limit = CohortParams.limit(query(req, "limit"));
        DateRange range = CohortParams.range(query(req, "startDate"), query(req, "endDate"), today());
        String company = call.companyId;
        List<TopRow> rows = queries.top(company, metric, range, limit);
        Map<Long, CohortRef> names = rows.isEmpty() ? Map.of() : queries.cohortsOf(company);
        List<Map<String, Object>> out = new ArrayList<>();
        for (TopRow r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cohortId", r.cohortId());
            CohortRef ref = names.get(r.cohortId());
            m.put("name", ref == null ? null : ref.name());
            m.put("users", r.users());
            m.put("count", r.count());
            m.put("avg", r.avg());
            out.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("metric", metric);
        body.put("cohorts", out);
        return Reply.ok(body);
    }

    /** The cohort if it belongs to the company the call acts for; 404 otherwise (also for deleted and unknown ids). */
    private CohortRef cohort(Call call, long id) {
        call.cohort(id);
        return queries.find(id, List.of(call.companyId)).orElseThrow(() -> notFound(call, id));
    }

    private static ApiError notFound(Call call, long id) {
        return new ApiError(404, "cohort_not_found", "cohort " + id + " does not exist, was deleted, or is not a cohort of " + call.companyId);
    }

    static Map<String, Object> metricsShape(long cohortId, String metric, DateRange range, Figures f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cohortId", cohortId);
        m.put("metric", metric);
        m.put("startDate", range.start().toString());
        m.put("endDate", range.end().toString());
        m.put("users", f.users());
        m.put("count", f.count());
        m.put("avg", f.avg());
        m.put("min", f.min());
        m.put("max", f.max());
        m.put("p50", f.p50());
        m.put("p75", f.p75());
        m.put("p95", f.p95());
        m.put("stddev", f.stddev());
        return m;
    }

    private static Optional<String> query(ServerRequest req, String name) {
        return req.query().first(name).asOptional();
    }

    private static Optional<String> textField(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw CohortParams.bad(field, "'" + CohortParams.shown(n.toString()) + "' must be a JSON string");
        }
        return Optional.of(n.asText());
    }
}
