package io.csr.gateway.participants;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.gateway.auth.CompanyScope;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.auth.Principal;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.JsonResponses;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Participants of a company, kept by that company's admins (role {@code admin} and the company in the token):
 * {@code GET /participants}, {@code PUT /participants/{userId}} (JSON), {@code POST /participants:import} (CSV, every
 * valid row written in one transaction, every invalid row reported with its line). Registered at the root because
 * {@code :import} is part of the collection's path segment.
 */
public final class ParticipantsService implements HttpService {
    static final int MAX_IMPORT_BYTES = 16 * 1024 * 1024;
    static final int MAX_ERRORS_SHOWN = 1_000;

    private final JwtVerifier jwt;
    private final ParticipantStore store;

    public ParticipantsService(JwtVerifier jwt, ParticipantStore store) {
        this.jwt = jwt;
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/participants", this::list)
                .put("/participants/{userId}", this::put)
                .post("/participants:import", this::importCsv);
    }

    private interface Handler {
        void handle(String companyId) throws SQLException, IOException;
    }

    /** Auth, company scope and the admin check first; then the handler; PostgreSQL trouble becomes a 503 naming it. */
    private void asAdmin(ServerRequest req, ServerResponse res, Handler h) {
        try {
            Principal p = jwt.authenticate(req);
            String companyId = CompanyScope.resolve(p, req);
            if (!p.isAdminOf(companyId)) {
                throw new ApiError(403, "admin_required", "participants of " + companyId + " are kept by its admins; the token of '"
                        + p.subject() + "' lacks role admin (mint one with: bin/csr token --company " + companyId + " --admin)");
            }
            try {
                h.handle(companyId);
            } catch (SQLException e) {
                throw new ApiError(503, "postgres_unavailable", "PostgreSQL failed: " + e.getMessage() + " (check POSTGRES_URL and bin/csr status)");
            } catch (IOException e) {
                throw ApiError.badRequest("bad_body", "cannot read the request body: " + e.getMessage());
            }
        } catch (ApiError e) {
            e.send(res);
        }
    }

    private void list(ServerRequest req, ServerResponse res) {
        asAdmin(req, res, companyId -> {
            int limit = intParam(req, "limit", 100, 1, 1_000);
            int offset = intParam(req, "offset", 0, 0, Integer.MAX_VALUE);
            String programme = req.query().first("programme").asOptional().orElse(null);
            String group = req.query().first("languageGroup").asOptional().orElse(null);
            JsonResponses.send(res, store.list(companyId, programme, group, limit, offset));
        });
    }

    private void put(ServerRequest req, ServerResponse res) {
        asAdmin(req, res, companyId -> {
            String userId = req.path().pathParameters().get("userId");
            JsonNode body;
            try {
                body = Json.mapper().readTree(req.content().as(String.class));
            } catch (IOException e) {
                throw ApiError.badRequest("bad_json", "the body is not JSON: " + e.getMessage()
                        + "; send {\"programme\":\"…\",\"languageGroup\":\"…\",\"enrolledOn\":\"YYYY-MM-DD\"}");
            }
            if (body == null || !body.isObject()) {
                throw ApiError.badRequest("bad_json", "the body must be a JSON object like {\"programme\":\"…\",\"enrolledOn\":\"YYYY-MM-DD\"}");
            }
            Participant p;
            try {
                p = Participant.of(userId, text(body, "programme"), text(body, "languageGroup"), text(body, "enrolledOn"),
                        text(body, "leftOn"), text(body, "outcome"));
            } catch (Participant.Invalid e) {
                throw ApiError.badRequest("bad_" + e.field(), e.getMessage());
            }
            JsonResponses.send(res, store.upsert(companyId, p));
        });
    }

    private void importCsv(ServerRequest req, ServerResponse res) {
        asAdmin(req, res, companyId -> {
            byte[] bytes;
            try (InputStream in = req.content().inputStream()) {
                bytes = in.readNBytes(MAX_IMPORT_BYTES + 1);
            }
            if (bytes.length > MAX_IMPORT_BYTES) {
                throw new ApiError(413, "too_large", "the CSV is larger than " + MAX_IMPORT_BYTES + " bytes; split it into several imports");
            }
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw ApiError.badRequest("bad_csv", "the CSV is not UTF-8 text; save it as UTF-8 and send it again");
            }
            ParticipantCsv.Parsed parsed;
            try {
                parsed = ParticipantCsv.parse(text);
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("bad_csv", e.getMessage());
            }
            int imported = store.upsertAll(companyId, parsed.participants());
            List<Map<String, Object>> errors = new ArrayList<>();
            for (ParticipantCsv.RowError e : parsed.errors().subList(0, Math.min(parsed.errors().size(), MAX_ERRORS_SHOWN))) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("line", e.line());
                m.put("userId", e.userId());
                m.put("field", e.field());
                m.put("message", e.message());
                errors.add(m);
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("companyId", companyId);
            body.put("rows", parsed.rows());
            body.put("imported", imported);
            body.put("failed", parsed.errors().size());
            body.put("errors", errors);
            JsonResponses.send(res, body);
        });
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiError.badRequest("bad_" + field, field + " must be a JSON string, got " + v.getNodeType().toString().toLowerCase());
        }
        return v.asText();
    }

    private static int intParam(ServerRequest req, String name, int dflt, int min, int max) {
        String v = req.query().first(name).asOptional().orElse(null);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw ApiError.badRequest("bad_" + name, name + " '" + v + "' must be a whole number from " + min + " to " + max);
    }
}
