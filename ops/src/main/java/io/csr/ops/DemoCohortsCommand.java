package io.csr.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.postgres.PostgresSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * {@code csr demo-cohorts}: the demo companies' participants ({@link DemoParticipants}) and three cohorts each — two
 * rule cohorts and one static — created through the running gateway's API as an admin would (so the rules are
 * validated and their members computed by the gateway), then prints the cohort workspace's address. A cohort whose
 * name already exists is left alone, so running the demo again changes nothing.
 */
@Command(name = "demo-cohorts", mixinStandardHelpOptions = true, hidden = true, // a step of bin/csr demo
        description = "Create the demo companies' participants and three cohorts each (two rule, one static) through the gateway.")
final class DemoCohortsCommand extends CsrCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A demo cohort: a rule (JSON) or, when null, the static members {@code u1…u<staticMembers>}. */
    record Definition(String name, String description, String rule) {
    }

    static final int STATIC_MEMBERS = 40;
    static final List<Definition> DEFINITIONS = List.of(
            new Definition("German learners at risk", "language learners of the German group whose at_risk flag is set",
                    "{\"all\":[{\"attr\":\"languageGroup\",\"in\":[\"de\"]},{\"flag\":\"at_risk\",\"state\":\"set\"}]}"),
            new Definition("Mentoring, active this week", "mentoring participants still in the programme with an event in the last 7 days",
                    "{\"all\":[{\"attr\":\"programme\",\"in\":[\"mentoring\"]},{\"attr\":\"outcome\",\"in\":[null]},{\"active\":{\"days\":7}}]}"),
            new Definition("Pilot group", "the first " + STATIC_MEMBERS + " participants, picked by hand", null));

    @Option(names = "--companies", split = ",", description = "demo companies (default: ${DEFAULT-VALUE})", defaultValue = "acme,globex,initech")
    List<String> companies;

    @Option(names = "--gateway", description = "gateway base URL (default: http://GATEWAY_HOST:GATEWAY_PORT)")
    String gateway;

    @Option(names = "--wait-seconds", description = "how long to wait for the gateway to answer (default: ${DEFAULT-VALUE})", defaultValue = "60")
    int waitSeconds;

    @Override
    public Integer call() throws Exception {
        DemoCohortsCommand o = this;
        CsrConfig config = config();
        for (String c : o.companies) {
            if (!c.matches("[A-Za-z0-9_-]{1,64}")) {
                throw usage("--companies: '" + c + "' does not match [A-Za-z0-9_-]{1,64}");
            }
        }
        String host = config.get(ConfigKey.GATEWAY_HOST);
        String base = o.gateway != null ? o.gateway.replaceAll("/+$", "")
                : "http://" + (host.equals("0.0.0.0") ? "127.0.0.1" : host) + ":" + config.get(ConfigKey.GATEWAY_PORT);
        int added = DemoParticipants.fill(PostgresSettings.from(config), o.companies);
        System.out.printf("    participants of %s: %d added (existing ones kept)%n", String.join(",", o.companies), added);
        String token = TokenCommand.mint(config.require(ConfigKey.JWT_SECRET), "demo", o.companies, List.of("admin"),
                Instant.now().plus(Duration.ofMinutes(10)), config.get(ConfigKey.JWT_ISSUER).trim(),
                config.get(ConfigKey.JWT_AUDIENCE).split(",")[0].trim());
        Api api = new Api(base, token);
        api.awaitUp(Duration.ofSeconds(o.waitSeconds));
        for (String company : o.companies) {
            Set<String> existing = new HashSet<>();
            for (JsonNode c : api.call("GET", "/cohorts?companyId=" + company, null, 200).get("cohorts")) {
                existing.add(c.get("name").asText());
            }
            List<String> report = new ArrayList<>();
            for (Definition d : DEFINITIONS) {
                if (existing.contains(d.name())) {
                    report.add(d.name() + " (kept)");
                    continue;
                }
                String body = "{\"name\":" + JSON.writeValueAsString(d.name()) + ",\"description\":" + JSON.writeValueAsString(d.description())
                        + (d.rule() == null ? "" : ",\"rule\":" + d.rule()) + "}";
                JsonNode created = api.call("POST", "/cohorts?companyId=" + company, body, 201);
                long members;
                if (d.rule() == null) {
                    String ids = IntStream.rangeClosed(1, STATIC_MEMBERS).mapToObj(i -> "\"u" + i + "\"").collect(Collectors.joining(","));
                    members = api.call("PUT", "/cohorts/" + created.get("id").asLong() + "/members?companyId=" + company, "{\"add\":[" + ids + "]}", 200)
                            .get("members").asLong();
                } else {
                    members = created.get("members").asLong();
                }
                report.add(d.name() + " (" + (d.rule() == null ? "static" : "rule") + ", " + members + " members)");
            }
            System.out.printf("    cohorts of %s: %s%n", company, String.join("; ", report));
        }
        return 0;
    }

    /** The gateway's cohort API with one admin token. */
    private static final class Api {
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        private final String base;
        private final String token;

        Api(String base, String token) {
            this.base = base;
            this.token = token;
        }

        void awaitUp(Duration wait) throws InterruptedException {
            long until = System.nanoTime() + wait.toNanos();
            while (true) {
                try {
                    http.send(HttpRequest.newBuilder(URI.create(base + "/health")).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.discarding());
                    return;
                } catch (IOException e) {
                    if (System.nanoTime() > until) {
                        throw new IllegalArgumentException("the gateway at " + base + " did not answer within " + wait.toSeconds()
                                + " s (" + e + "); start it with bin/csr start, or give --gateway URL");
                    }
                    Thread.sleep(500);
                }
            }
        }

        JsonNode call(String method, String path, String body, int expected) throws IOException, InterruptedException {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + token)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            HttpResponse<String> res;
            try {
                res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            } catch (ConnectException e) {
                throw new IllegalArgumentException("the gateway at " + base + " refused " + method + " " + path + "; is it running (bin/csr status)?");
            }
            if (res.statusCode() != expected) {
                throw new IllegalArgumentException(method + " " + path + " answered " + res.statusCode() + " (expected " + expected + "): "
                        + res.body() + (res.statusCode() == 401 ? " — the gateway's JWT_SECRET differs from this shell's" : ""));
            }
            return JSON.readTree(res.body());
        }
    }
}
