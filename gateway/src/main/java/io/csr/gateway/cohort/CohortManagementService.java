package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.cohort.CohortCalls.Call;
import io.csr.gateway.cohort.CohortCalls.Reply;
import io.csr.gateway.cohort.CohortStore.MemberChange;
import io.csr.gateway.cohort.CohortStore.StoredCohort;
import io.csr.gateway.http.ApiError;
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
 * Another company's cohort answers 404 before the role is looked at, so its existence is not revealed.
 */
final class CohortManagementService implements HttpService {
    static final int MAX_MEMBERS_PER_CALL = 10_000;

    private final CohortCalls calls;
    private final CohortStore store;
    private final CohortAuditLog audit;

    CohortManagementService(CohortCalls calls, CohortStore store, CohortAuditLog audit) {
        this.calls = calls;
        this.store = store;
        this.audit = audit;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/audit", (req, res) -> calls.run(req, res, "/cohorts/audit", this::audit))
                .post("/", (req, res) -> calls.run(req, res, "/cohorts", this::create))
                .get("/", (req, res) -> calls.run(req, res, "/cohorts", this::list))
                .put("/{id}/members", (req, res) -> calls.run(req, res, "/cohorts/{id}/members", this::members))
                .delete("/{id}", (req, res) -> calls.run(req, res, "/cohorts/{id}", this::delete));
    }

    private Reply create(Call call) throws SQLException {
        String company = CompanyScope.resolve(call.principal, call.req);
        call.about(company, null);
        call.requireAdminOf(company);
        JsonNode body = CohortParams.jsonBody(call.req);
        String name = CohortParams.text("name", body.hasNonNull("name") ? scalar(body.get("name")) : null, 200, true);
        String description = CohortParams.text("description", body.hasNonNull("description") ? scalar(body.get("description")) : null, 2_000, false);
        StoredCohort created;
        try {
            created = store.create(company, name, description);
        } catch (CohortStore.NameTaken e) {
            throw new ApiError(409, "cohort_name_taken", e.getMessage());
        }
        call.about(company, created.id());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", created.id());
        out.put("companyId", created.companyId());
        out.put("name", created.name());
        out.put("description", created.description());
        out.put("createdAt", created.createdAt().toString());
        return new Reply(201, out);
    }

    private Reply list(Call call) throws SQLException {
        List<String> companies = call.req.query().first("companyId").asOptional().isPresent()
                ? List.of(CompanyScope.resolve(call.principal, call.req)) : List.copyOf(call.principal.companies());
        if (!companies.isEmpty()) {
            call.about(companies.get(0), null);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (StoredCohort c : companies.isEmpty() ? List.<StoredCohort>of() : store.list(companies)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", c.id());
            m.put("companyId", c.companyId());
            m.put("name", c.name());
            m.put("description", c.description());
            m.put("createdAt", c.createdAt().toString());
            m.put("members", c.members());
            out.add(m);
        }
        return Reply.ok(Map.of("cohorts", out));
    }

    private Reply members(Call call) throws SQLException {
        StoredCohort cohort = managed(call);
        JsonNode body = CohortParams.jsonBody(call.req);
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
        String company = CompanyScope.resolve(call.principal, call.req);
        call.about(company, null);
        call.requireAdminOf(company);
        int limit = CohortParams.limit(call.req.query().first("limit").asOptional());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("companyId", company);
        out.put("entries", audit.newest(company, limit));
        return Reply.ok(out);
    }

    /** The cohort of the path if the token grants its company (else 404) and is an admin of that company (else 403). */
    private StoredCohort managed(Call call) throws SQLException {
        ServerRequest req = call.req;
        long id = CohortParams.id("id", req.path().pathParameters().get("id"));
        StoredCohort cohort = store.find(id, call.principal.companies()).orElseThrow(() -> notFound(id, call));
        call.about(cohort.companyId(), cohort.id());
        call.requireAdminOf(cohort.companyId());
        return cohort;
    }

    private static ApiError notFound(long id, Call call) {
        return new ApiError(404, "cohort_not_found", "cohort " + id + " does not exist, was deleted, or belongs to a company the token does not grant ("
                + call.principal.companies() + ")");
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
