package io.csr.gateway.participants;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.gateway.auth.JwtVerifier;
import io.csr.gateway.http.ApiError;
import io.csr.gateway.http.InputRules;
import io.csr.gateway.http.JsonResponses;
import io.csr.gateway.limits.RateLimiter;
import io.csr.gateway.http.RequestBodies;
import io.csr.gateway.limits.ChargedCall;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Participants of a company, kept by that company's admins (role {@code admin} and the company in the token):
 * {@code GET /participants}, {@code PUT /participants/{userId}} (JSON), {@code POST /participants:import} (CSV, parsed
 * as it arrives; every valid row written, every invalid row reported with its line). Registered at the root because
 * {@code :import} is part of the collection's path segment. Bodies are bounded by {@link RequestBodies}.
 *
 * @param changed told the company after its participants were written (rule cohorts recompute on it)
 */
public record ParticipantsService(JwtVerifier jwt, RateLimiter limits, ParticipantStore store, RequestBodies bodies,
                                  Consumer<String> changed) implements HttpService {
    static final int MAX_ERRORS_SHOWN = 1_000;
    private static final String EXAMPLE = "{\"programme\":\"…\",\"languageGroup\":\"…\",\"enrolledOn\":\"YYYY-MM-DD\"}";

    @Override
    public void routing(HttpRules rules) {
        rules.get("/participants", this::list)
                .put("/participants/{userId}", this::put)
                .post("/participants:import", this::importCsv);
    }

    private interface Handler {
        void handle(String companyId) throws SQLException, IOException;
    }

    /**
     * Auth, company scope, the company's rate limit ({@code API_RATE_LIMIT_PER_MINUTE}) and the admin check first; then
     * the handler. A PostgreSQL outage is a 503, any other database refusal a 500; neither shows the database's text
     * (logged with the request id).
     */
    private void asAdmin(ServerRequest req, Handler h) {
        ChargedCall call = ChargedCall.of(req, jwt, limits); // before the body is read and before PostgreSQL
        String companyId = call.companyId();
        if (!call.principal().isAdminOf(companyId)) {
            throw new ApiError(403, "admin_required", "participants of " + companyId + " are kept by its admins; the token of '"
                    + call.principal().subject() + "' lacks role admin (mint one with: bin/csr token --company " + companyId + " --admin)");
        }
        try {
            h.handle(companyId);
        } catch (SQLException e) {
            throw ApiError.fromPostgres(e);
        } catch (IOException e) {
            throw ApiError.badRequest("bad_body", "the request body could not be read completely; send it again");
        }
    }

    private void list(ServerRequest req, ServerResponse res) {
        asAdmin(req, companyId -> {
            int limit = intParam(req, "limit", 100, 1, 1_000);
            int offset = intParam(req, "offset", 0, 0, Integer.MAX_VALUE);
            String programme = filter(req, "programme");
            String group = filter(req, "languageGroup");
            JsonResponses.send(res, store.list(companyId, programme, group, limit, offset));
        });
    }

    private void put(ServerRequest req, ServerResponse res) {
        asAdmin(req, companyId -> {
            String userId = req.path().pathParameters().get("userId");
            JsonNode body = bodies.jsonObject(req, "bad_json", EXAMPLE);
            Participant p;
            try {
                p = Participant.of(userId, text(body, "programme"), text(body, "languageGroup"), text(body, "enrolledOn"),
                        text(body, "leftOn"), text(body, "outcome"));
            } catch (Participant.Invalid e) {
                throw ApiError.badRequest("bad_" + e.field(), e.getMessage());
            }
            Object written = store.upsert(companyId, p);
            changed.accept(companyId);
            JsonResponses.send(res, written);
        });
    }

    private void importCsv(ServerRequest req, ServerResponse res) {
        asAdmin(req, companyId -> {
            ParticipantCsv.Parsed parsed;
            try (InputStream in = bodies.stream(req);
                 Reader text = new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                         .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT))) {
                parsed = ParticipantCsv.parse(text);
            } catch (RequestBodies.TooLarge e) {
                throw bodies.tooLarge();
            } catch (CharacterCodingException e) {
                // each refusal stops reading where it is: the rest of the body is not read, so the connection ends
                throw ApiError.badRequest("bad_csv", "the CSV is not UTF-8 text; save it as UTF-8 and send it again").closingConnection();
            } catch (ParticipantCsv.LineLimit.TooLong e) {
                throw ApiError.badRequest("bad_csv", "the CSV's " + e.getMessage() + "; a participant row is far shorter: is this the right file?")
                        .closingConnection();
            } catch (ParticipantCsv.Refused e) {
                throw ApiError.badRequest("bad_csv", e.getMessage()).closingConnection();
            }
            ParticipantStore.Written written = store.upsertAll(companyId, parsed.valid());
            changed.accept(companyId);
            List<ParticipantCsv.RowError> failed = new ArrayList<>(parsed.errors());
            failed.addAll(written.refused());
            failed.sort(java.util.Comparator.comparingInt(ParticipantCsv.RowError::line));
            JsonResponses.send(res, new Imported(companyId, parsed.rows(), written.count(), failed.size(),
                    List.copyOf(failed.subList(0, Math.min(failed.size(), MAX_ERRORS_SHOWN)))));
        });
    }

    /** The answer to an import: rows read, rows written, rows refused and the first {@value #MAX_ERRORS_SHOWN} of those. */
    public record Imported(String companyId, int rows, int imported, int failed, List<ParticipantCsv.RowError> errors) {
    }

    /** An optional filter of the list: absent, or text by the same rule as the stored values. */
    private static String filter(ServerRequest req, String name) {
        String v = req.query().first(name).asOptional().orElse(null);
        if (v == null) {
            return null;
        }
        String problem = InputRules.textProblem(v, 1, Participant.MAX_NAME, false);
        if (problem != null) {
            throw ApiError.badRequest("bad_" + name, name + " '" + InputRules.shown(v) + "' " + problem + " (1-" + Participant.MAX_NAME
                    + " characters without control characters)");
        }
        return v;
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
        throw ApiError.badRequest("bad_" + name, name + " '" + InputRules.shown(v) + "' must be a whole number from " + min + " to " + max);
    }
}
