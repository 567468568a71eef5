package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.gateway.cohort.CohortCalls.Call;
import io.csr.gateway.cohort.CohortCalls.Reply;
import io.csr.gateway.cohort.CohortStore.MemberChange;
import io.csr.gateway.cohort.CohortStore.StoredCohort;
import io.csr.gateway.cohort.rule.Rule;
import io.csr.gateway.cohort.rule.RuleCohorts;
import io.csr.gateway.cohort.rule.RuleParser;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.RequestBodies;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cohort management under {@code /cohorts} (PostgreSQL; the job replicates to ClickHouse): create, change members,
 * list, soft-delete, and the company's audit log. Changing anything and reading the audit log needs role admin and the
 * company in the token; listing is open to every token of the company (a dashboard needs the list to pick cohorts).
 * Every call acts for one company ({@link CohortCalls}); a cohort of any other company answers 404, so its existence
 * is not revealed.
 */
record CohortManagementService(CohortCalls calls, CohortStore store, CohortAuditLog audit, RequestBodies bodies, RuleCohorts rules)
        implements HttpService {
    static final int MAX_MEMBERS_PER_CALL = 10_000;
    /** Ids a preview shows (the first ones in id order). */
    static final int PREVIEW_SAMPLE = 20;

    @Override
    public void routing(HttpRules rules) {
        rules.get("/audit", (req, res) -> calls.run(req, res, "/cohorts/audit", this::audit))
                .post("/preview", (req, res) -> calls.run(req, res, "/cohorts/preview", this::preview))
                .post("/", (req, res) -> calls.run(req, res, "/cohorts", this::create))
                .get("/", (req, res) -> calls.run(req, res, "/cohorts", this::list))
                .put("/{id}/members", (req, res) -> calls.run(req, res, "/cohorts/{id}/members", this::members))
                .put("/{id}", (req, res) -> calls.run(req, res, "/cohorts/{id}", this::update))
                .delete("/{id}", (req, res) -> calls.run(req, res, "/cohorts/{id}", this::delete));
    }

    private Reply create(Call call) throws SQLException {
        String company = call.companyId;
        call.requireAdminOf(company);
        JsonNode body = bodies.jsonObject(call.req, "bad_body", "{\"name\":\"…\",\"description\":\"…\",\"rule\":{…}?}");
        String name = CohortParams.text("name", body.hasNonNull("name") ? scalar(body.get("name")) : null, 200, true);
        String description = CohortParams.text("description", body.hasNonNull("description") ? scalar(body.get("description")) : null, 2_000, false);
        String rule = body.hasNonNull("rule") ? ruleJson(body.get("rule")) : null;
        StoredCohort created;
        try {
            created = store.create(company, name, description, rule);
        } catch (CohortStore.NameTaken e) {
            throw new ApiError(409, "cohort_name_taken", e.getMessage());
        }
        call.cohort(created.id());
        Map<String, Object> out = identity(created);
        if (created.isRule()) {
            long members = rules.recompute(created.id()).map(RuleCohorts.Change::members).orElse(0L);
            call.detail("rule cohort, members=" + members);
            out.put("kind", "rule");
            out.put("rule", RuleJson.tree(created.rule()));
            out.put("members", members);
        }
        return new Reply(201, out);
    }

    /** {@code PUT /cohorts/{id}}: name, description and rule (null: the cohort becomes static, its members kept). */
    private Reply update(Call call) throws SQLException {
        StoredCohort cohort = managed(call);
        JsonNode body = bodies.jsonObject(call.req, "bad_body", "{\"name\"?:\"…\",\"description\"?:\"…\",\"rule\"?:{…}|null}");
        String name = body.has("name") ? CohortParams.text("name", scalar(body.get("name")), 200, true) : null;
        String description = body.has("description") ? CohortParams.text("description", scalar(body.get("description")), 2_000, false) : null;
        boolean changeRule = body.has("rule");
        String rule = changeRule && !body.get("rule").isNull() ? ruleJson(body.get("rule")) : null;
        if (name == null && description == null && !changeRule) {
            throw CohortParams.bad("body", "nothing to change; give name, description and/or rule");
        }
        try {
            if (!store.update(cohort.companyId(), cohort.id(), name, description, changeRule, rule)) {
                throw notFound(cohort.id(), call);
            }
        } catch (CohortStore.NameTaken e) {
            throw new ApiError(409, "cohort_name_taken", e.getMessage());
        }
        if (rule != null) {
            rules.recompute(cohort.id());
        }
        StoredCohort now = store.find(cohort.id(), List.of(call.companyId)).orElseThrow(() -> notFound(cohort.id(), call));
        call.detail((changeRule ? (rule == null ? "made static" : "rule changed") : "renamed") + ", members=" + now.members());
        return Reply.ok(shape(now));
    }

    /** {@code POST /cohorts/preview}: the members a rule would have now, nothing saved. */
    private Reply preview(Call call) throws SQLException {
        String company = call.companyId;
        call.requireAdminOf(company);
        JsonNode body = bodies.jsonObject(call.req, "bad_body", "{\"rule\":{\"attr\":\"programme\",\"in\":[\"mentoring\"]}}");
        if (!body.hasNonNull("rule")) {
            throw ApiError.badRequest("bad_rule", "rule: required; give {\"rule\":{…}} in the language of docs/analytics.md");
        }
        Rule rule = RuleParser.parse(body.get("rule"), "rule");
        List<String> members = new ArrayList<>(rules.preview(company, rule));
        members.sort(null);
        call.detail("preview members=" + members.size());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("members", members.size());
        out.put("sample", members.subList(0, Math.min(PREVIEW_SAMPLE, members.size())));
        return Reply.ok(out);
    }

    /** Validates the rule and returns its JSON text as stored. */
    private static String ruleJson(JsonNode rule) {
        RuleParser.parse(rule, "rule");
        return rule.toString();
    }

    /** What names a cohort in every answer about it: id, company, name, description, creation time. */
    private static Map<String, Object> identity(StoredCohort c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", c.id());
        m.put("companyId", c.companyId());
        m.put("name", c.name());
        m.put("description", c.description());
        m.put("createdAt", c.createdAt().toString());
        return m;
    }

    private static Map<String, Object> shape(StoredCohort c) {
        Map<String, Object> m = identity(c);
        m.put("members", c.members());
        m.put("kind", c.isRule() ? "rule" : "static");
        m.put("rule", c.isRule() ? RuleJson.tree(c.rule()) : null);
        return m;
    }

    private Reply list(Call call) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (StoredCohort c : store.list(List.of(call.companyId))) {
            out.add(shape(c));
        }
        return Reply.ok(Map.of("cohorts", out));
    }

    private Reply members(Call call) throws SQLException {
        StoredCohort cohort = managed(call);
        if (cohort.isRule()) {
            throw new ApiError(409, "rule_cohort", "cohort " + cohort.id() + " is defined by a rule; the system keeps its members."
                    + " Change the rule with PUT /cohorts/" + cohort.id() + " {\"rule\":…}, or make it static with {\"rule\":null} first");
        }
        JsonNode body = bodies.jsonObject(call.req, "bad_body", "{\"add\":[\"userId\"],\"remove\":[\"userId\"]}");
        Set<String> add = userIds(body, "add");
        Set<String> remove = userIds(body, "remove");
        if (add.isEmpty() && remove.isEmpty()) {
            throw CohortParams.bad("add", "add and remove are both empty or missing; give {\"add\":[userId…], \"remove\":[userId…]}");
        }
        for (String u : add) {
            if (remove.contains(u)) {
                throw CohortParams.bad("remove", "user '" + CohortParams.shown(u) + "' is in both add and remove; list it in one of them");
            }
        }
        MemberChange change = store.changeMembers(cohort.id(), add, remove)
                .orElseThrow(() -> notFound(cohort.id(), call));
        call.detail("added=" + change.added() + " removed=" + change.removed() + " members=" + change.members());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", cohort.id());
        out.put("members", change.members());
        return Reply.ok(out);
    }

    private Reply delete(Call call) throws SQLException {
        StoredCohort cohort = managed(call);
        if (!store.softDelete(cohort.id())) {
            throw notFound(cohort.id(), call);
        }
        call.detail("soft-deleted '" + cohort.name() + "'");
        return new Reply(204, null);
    }

    private Reply audit(Call call) throws SQLException {
        String company = call.companyId;
        call.requireAdminOf(company);
        int limit = CohortParams.limit(call.req.query().first("limit").asOptional());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("companyId", company);
        out.put("entries", audit.newest(company, limit));
        return Reply.ok(out);
    }

    /**
     * The cohort of the path if it is one of the call's company (else 404, before the role is looked at, so a viewer
     * learns nothing of ids either) and the caller an admin of that company (else 403).
     */
    private StoredCohort managed(Call call) throws SQLException {
        ServerRequest req = call.req;
        long id = CohortParams.id("id", req.path().pathParameters().get("id"));
        call.cohort(id);
        StoredCohort cohort = store.find(id, List.of(call.companyId)).orElseThrow(() -> notFound(id, call));
        call.requireAdminOf(cohort.companyId());
        return cohort;
    }

    private static ApiError notFound(long id, Call call) {
        return new ApiError(404, "cohort_not_found", "cohort " + id + " does not exist, was deleted, or is not a cohort of " + call.companyId);
    }

    private static Set<String> userIds(JsonNode body, String field) {
        JsonNode n = body.get(field);
        Set<String> out = new LinkedHashSet<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            throw CohortParams.bad(field, "must be an array of user ids");
        }
        if (n.size() > MAX_MEMBERS_PER_CALL) {
            throw CohortParams.bad(field, n.size() + " user ids in one call; at most " + MAX_MEMBERS_PER_CALL
                    + " — load larger sets with the bulk path of docs/analytics.md (\\copy + cohort_bulk_load)");
        }
        for (JsonNode u : n) {
            out.add(CohortParams.userId(field, u.isTextual() ? u.asText() : u));
        }
        return out;
    }

    /** The text of a JSON string; any other node is passed on as itself, so validation refuses it. */
    private static Object scalar(JsonNode n) {
        return n.isTextual() ? n.asText() : n;
    }
}
