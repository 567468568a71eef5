package io.csr.gateway.analytics;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.analytics.AnalyticsViewRefresher;
import io.csr.common.config.ConfigKey;
import io.csr.common.json.Json;
import io.csr.common.postgres.PostgresSettings;
import io.csr.gateway.GatewayFixture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The four analytics views and their endpoints against the real PostgreSQL, in the fixture's own schema: seeded
 * events, participants and cohorts with figures computed by hand (see the comments at each expectation), a refresh
 * while readers query in a loop, a refresh that fails (previous data kept, /health says so) and tenant scoping.
 * The gateway's own schedule is off here (ANALYTICS_REFRESH_SECONDS=0) so every refresh is the test's.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AnalyticsViewsITCase {
    private static final String ACME = "acme";
    private static final String OTHER = "globex";
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    private static PostgresSettings pg;
    private static AnalyticsSeed seed;
    private static AnalyticsViewRefresher refresher;

    @BeforeAll
    static void start() throws Exception {
        // the readers' loop is about refreshes, not the per-company rate limit (RateLimitsITCase): lift it
        fx = new GatewayFixture(Map.of(ConfigKey.ANALYTICS_REFRESH_SECONDS.name(), "0", ConfigKey.API_RATE_LIMIT_PER_MINUTE.name(), "1000000"));
        pg = PostgresSettings.from(fx.config);
        seed = new AnalyticsSeed(pg);
        refresher = new AnalyticsViewRefresher(pg, Duration.ofSeconds(10));
        // participants of acme (today = T): u1 language/de active; u2 language/fr left T-10 completed;
        // u3 mentoring/de left T-5 dropped out; u4 mentoring/no group active. globex: u9 language/de.
        seed.participant(ACME, "u1", "language", "de", 60, null, null);
        seed.participant(ACME, "u2", "language", "fr", 60, 10, "completed");
        seed.participant(ACME, "u3", "mentoring", "de", 40, 5, "dropped_out");
        seed.participant(ACME, "u4", "mentoring", null, 20, null, null);
        seed.participant(OTHER, "u9", "language", "de", 10, null, null);
        seed.metric(ACME, "sroi", "u1", 2.0, seed.daysAgo(1));
        seed.metric(ACME, "sroi", "u2", 4.0, seed.daysAgo(8));
        seed.metric(ACME, "sroi", "u3", 9.0, seed.daysAgo(40));      // older than 30 days: only in nothing but "latest" candidates
        seed.metric(ACME, "sroi", null, 6.0, seed.daysAgo(20));      // a company-level observation without a user
        seed.metric(ACME, "vis", "u1", 60.0, seed.daysAgo(10));
        seed.q2q(ACME, "confidence", "u4", 0.8, seed.daysAgo(2));
        seed.journey(ACME, "at_risk", "u1", true, seed.daysAgo(12));
        seed.journey(ACME, "at_risk", "u1", false, seed.daysAgo(1));
        seed.journey(ACME, "at_risk", "u3", true, seed.daysAgo(6));
        seed.journey(ACME, "onboarded", "u1", true, seed.daysAgo(50));
        seed.journey(ACME, "onboarded", "u2", true, seed.daysAgo(50));
        seed.event("metrics.sroi", ACME, seed.daysAgo(1), "not json {");                               // left out
        seed.event("metrics.vis", ACME, seed.daysAgo(1), "{\"userId\":\"u1\",\"value\":\"high\"}");    // left out
        seed.metric(OTHER, "sroi", "u9", 100.0, seed.daysAgo(1));
        seed.cohort(ACME, "c1", false, new String[] {"u1", "u2"}, new String[] {"u3"});
        seed.cohort(ACME, "c2", true, new String[] {"u4"}, new String[] {});
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        return fx.get(path, token);
    }

    private static JsonNode getJson(String path, String token) throws Exception {
        HttpResponse<String> res = get(path, token);
        assertThat(res.statusCode()).as("%s: %s", path, res.body()).isEqualTo(200);
        return Json.mapper().readTree(res.body());
    }

    private static JsonNode byKey(JsonNode array, String field, String value) {
        for (JsonNode n : array) {
            if (n.path(field).asText().equals(value)) {
                return n;
            }
        }
        throw new AssertionError("no element with " + field + "=" + value + " in " + array);
    }

    @Test
    @Order(1)
    void beforeTheFirstRefreshTheViewsAreEmptyButAnswer() throws Exception {
        JsonNode company = getJson("/analytics/company", fx.tokens.forCompany(ACME));
        assertThat(company.path("participants").asLong()).isZero();
        assertThat(company.path("metrics")).isEmpty();
        assertThat(company.path("refreshedAt").isTextual()).as("the migration's fill counts as a refresh").isTrue();
    }

    @Test
    @Order(2)
    void eachViewAndEndpointShowsTheHandComputedFigures() throws Exception {
        AnalyticsViewRefresher.Result r = refresher.refresh("test");
        assertThat(r.status()).as(r.error()).isEqualTo("ok");
        JsonNode counts = Json.mapper().readTree(r.rowCountsJson());
        assertThat(counts.path("company_dashboard_mv").asLong()).isEqualTo(2);          // acme, globex
        assertThat(counts.path("program_performance_mv").asLong()).isEqualTo(3);        // acme language+mentoring, globex language
        assertThat(counts.path("language_group_performance_mv").asLong()).isEqualTo(3); // acme de+fr, globex de
        assertThat(counts.path("journey_stage_distribution_mv").asLong()).isEqualTo(2); // acme at_risk, onboarded

        String token = fx.tokens.forCompany(ACME);
        JsonNode c = getJson("/analytics/company", token);
        assertThat(c.path("companyId").asText()).isEqualTo(ACME);
        assertThat(Instant.parse(c.path("refreshedAt").asText())).isAfterOrEqualTo(r.startedAt());
        assertThat(c.path("participants").asLong()).isEqualTo(2);           // u1, u4 (u2, u3 left)
        assertThat(c.path("participantsEver").asLong()).isEqualTo(4);
        assertThat(c.path("activeParticipants7d").asLong()).isEqualTo(3);  // u1 (1d), u4 (2d), u3 (6d)
        assertThat(c.path("activeParticipants30d").asLong()).isEqualTo(4); // + u2 (8d); the user-less event counts no user
        assertThat(c.path("events7d").asLong()).isEqualTo(4);              // sroi u1, q2q u4, at_risk u1 clear, at_risk u3
        assertThat(c.path("events30d").asLong()).isEqualTo(8);             // + sroi u2, sroi (no user), vis u1, at_risk u1 set
        assertThat(c.path("cohorts").asLong()).isEqualTo(1);               // c2 is deleted
        assertThat(c.path("cohortMembers").asLong()).isEqualTo(2);         // u1, u2 (u3 left c1)
        JsonNode sroi = byKey(c.path("metrics"), "metric", "sroi");
        assertThat(sroi.path("latest").asDouble()).isEqualTo(2.0);         // u1's, 1 day ago
        assertThat(Instant.parse(sroi.path("latestAt").asText())).isEqualTo(seed.daysAgo(1));
        assertThat(sroi.path("avg30d").asDouble()).isCloseTo(4.0, within(1e-9)); // (2 + 4 + 6) / 3; 9.0 is 40 days old
        assertThat(sroi.path("count30d").asLong()).isEqualTo(3);
        JsonNode q2q = byKey(c.path("metrics"), "metric", "q2q_confidence");
        assertThat(q2q.path("latest").asDouble()).isEqualTo(0.8);
        assertThat(byKey(c.path("metrics"), "metric", "vis").path("count30d").asLong()).isEqualTo(1); // the "high" string is left out
        assertThat(c.path("metrics")).hasSize(3);
        assertThat(byKey(c.path("journeyFlags"), "flag", "at_risk").path("usersFlagged").asLong()).isEqualTo(1); // u3; u1 cleared
        assertThat(byKey(c.path("journeyFlags"), "flag", "onboarded").path("usersFlagged").asLong()).isEqualTo(2);

        JsonNode programmes = getJson("/analytics/programmes", token).path("programmes");
        assertThat(programmes).hasSize(2);
        JsonNode language = byKey(programmes, "programme", "language");
        assertThat(language.path("participants").asLong()).isEqualTo(2);
        assertThat(language.path("active").asLong()).isEqualTo(1);
        assertThat(language.path("completed").asLong()).isEqualTo(1);
        assertThat(language.path("droppedOut").asLong()).isEqualTo(0);
        assertThat(language.path("completionRate").asDouble()).isEqualTo(0.5);
        assertThat(language.path("dropoutRate").asDouble()).isEqualTo(0.0);
        JsonNode languageSroi = byKey(language.path("metrics"), "metric", "sroi");
        assertThat(languageSroi.path("avg30d").asDouble()).isCloseTo(3.0, within(1e-9)); // u1 2.0, u2 4.0
        assertThat(languageSroi.path("count30d").asLong()).isEqualTo(2);
        assertThat(languageSroi.path("users").asLong()).isEqualTo(2);
        assertThat(byKey(language.path("metrics"), "metric", "vis").path("avg30d").asDouble()).isEqualTo(60.0);
        JsonNode mentoring = byKey(programmes, "programme", "mentoring");
        assertThat(mentoring.path("droppedOut").asLong()).isEqualTo(1);
        assertThat(mentoring.path("dropoutRate").asDouble()).isEqualTo(0.5);
        assertThat(mentoring.path("completionRate").asDouble()).isEqualTo(0.0);
        assertThat(mentoring.path("metrics")).hasSize(1);                    // u3's sroi is 40 days old; u4's q2q
        assertThat(byKey(mentoring.path("metrics"), "metric", "q2q_confidence").path("avg30d").asDouble()).isEqualTo(0.8);

        JsonNode groups = getJson("/analytics/language-groups", token).path("languageGroups");
        assertThat(groups).hasSize(2);                                       // u4 has no language group
        JsonNode de = byKey(groups, "languageGroup", "de");
        assertThat(de.path("participants").asLong()).isEqualTo(2);          // u1, u3
        assertThat(de.path("active").asLong()).isEqualTo(1);
        assertThat(de.path("droppedOut").asLong()).isEqualTo(1);
        assertThat(byKey(de.path("metrics"), "metric", "sroi").path("avg30d").asDouble()).isEqualTo(2.0);
        JsonNode fr = byKey(groups, "languageGroup", "fr");
        assertThat(fr.path("completed").asLong()).isEqualTo(1);
        assertThat(fr.path("completionRate").asDouble()).isEqualTo(1.0);
        assertThat(byKey(fr.path("metrics"), "metric", "sroi").path("avg30d").asDouble()).isEqualTo(4.0);

        JsonNode journey = getJson("/analytics/journey-stages", token);
        assertThat(journey.path("participants").asLong()).isEqualTo(2);
        JsonNode atRisk = byKey(journey.path("stages"), "flag", "at_risk");
        assertThat(atRisk.path("usersFlagged").asLong()).isEqualTo(1);
        assertThat(atRisk.path("usersCleared").asLong()).isEqualTo(1);
        assertThat(Instant.parse(atRisk.path("lastEventAt").asText())).isEqualTo(seed.daysAgo(1));
        JsonNode onboarded = byKey(journey.path("stages"), "flag", "onboarded");
        assertThat(onboarded.path("usersFlagged").asLong()).isEqualTo(2);
        assertThat(onboarded.path("usersCleared").asLong()).isEqualTo(0);
    }

    @Test
    @Order(3)
    void aCompanySeesOnlyItsOwnRowsAndNeverAnotherCompanys() throws Exception {
        JsonNode other = getJson("/analytics/company", fx.tokens.forCompany(OTHER));
        assertThat(other.path("participants").asLong()).isEqualTo(1);
        assertThat(byKey(other.path("metrics"), "metric", "sroi").path("latest").asDouble()).isEqualTo(100.0);
        for (String path : List.of("/analytics/company", "/analytics/programmes", "/analytics/language-groups", "/analytics/journey-stages")) {
            HttpResponse<String> res = get(path + "?companyId=" + OTHER, fx.tokens.forCompany(ACME));
            assertThat(res.statusCode()).as(path).isEqualTo(403);
            assertThat(get(path, fx.tokens.forCompany(ACME)).body()).doesNotContain(OTHER);
            assertThat(HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + path)).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(401);
        }
        JsonNode none = getJson("/analytics/programmes", fx.tokens.forCompany("nobody"));
        assertThat(none.path("programmes")).isEmpty();
    }

    @Test
    @Order(4)
    void readersInALoopNeverErrorNorSeeAnEmptyViewWhileRefreshesRun() throws Exception {
        String token = fx.tokens.forCompany(ACME);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong reads = new AtomicLong();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        List<Thread> readers = new ArrayList<>();
        for (String path : List.of("/analytics/company", "/analytics/programmes", "/analytics/language-groups", "/analytics/journey-stages")) {
            readers.add(Thread.ofPlatform().name("reader" + path).start(() -> {
                while (running.get()) {
                    try {
                        HttpResponse<String> res = get(path, token);
                        JsonNode body = Json.mapper().readTree(res.body());
                        boolean empty = switch (path) {
                            case "/analytics/company" -> body.path("participants").asLong() == 0 || body.path("metrics").isEmpty();
                            case "/analytics/programmes" -> body.path("programmes").isEmpty();
                            case "/analytics/language-groups" -> body.path("languageGroups").isEmpty();
                            default -> body.path("stages").isEmpty();
                        };
                        if (res.statusCode() != 200 || empty) {
                            problems.add(path + " answered " + res.statusCode() + " " + res.body());
                        }
                        reads.incrementAndGet();
                    } catch (Exception e) {
                        problems.add(path + ": " + e);
                    }
                }
            }));
        }
        int refreshes = 0;
        try {
            // at least 5 refreshes, and on until the readers have done 40 reads between them (bounded)
            for (int i = 0; (i < 5 || reads.get() < 40) && i < 500; i++) {
                seed.metric(ACME, "sroi", "u1", 3.0 + Math.min(i, 4), seed.now);
                seed.journey(ACME, "matched_mentor", "u" + (i % 4 + 1), true, seed.now);
                AnalyticsViewRefresher.Result r = refresher.refresh("test");
                assertThat(r.status()).as(r.error()).isEqualTo("ok");
                refreshes++;
            }
        } finally {
            running.set(false);
            for (Thread t : readers) {
                t.join(30_000);
            }
        }
        assertThat(problems).as("reader errors or empty answers during refreshes").isEmpty();
        assertThat(reads.get()).as("reads done during %d refreshes", refreshes).isGreaterThanOrEqualTo(40);
        JsonNode c = getJson("/analytics/company", token);
        assertThat(byKey(c.path("metrics"), "metric", "sroi").path("latest").asDouble()).isEqualTo(7.0); // newest instant, highest value
        assertThat(byKey(c.path("journeyFlags"), "flag", "matched_mentor").path("usersFlagged").asLong()).isEqualTo(4);
    }

    @Test
    @Order(5)
    void aFailedRefreshKeepsThePreviousDataAndShowsInHealthUntilOneSucceeds() throws Exception {
        String token = fx.tokens.forCompany(ACME);
        long before = getJson("/analytics/company", token).path("participants").asLong();
        String refreshedBefore = getJson("/analytics/company", token).path("refreshedAt").asText();
        seed.participant(ACME, "u5", "language", "de", 1, null, null);
        AnalyticsViewRefresher quick = new AnalyticsViewRefresher(pg, Duration.ofMillis(300));
        AnalyticsViewRefresher.Result failed;
        // someone else's refresh holds the view's lock (and reads the facts view) in an open transaction
        try (Connection blocker = pg.connect(); Statement st = blocker.createStatement()) {
            blocker.setAutoCommit(false);
            st.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY journey_stage_distribution_mv");
            failed = quick.refresh("test");
            assertThat(failed.status()).isEqualTo("failed");
            assertThat(failed.error()).contains("lock");
            blocker.rollback();
        }
        JsonNode after = getJson("/analytics/company", token);
        assertThat(after.path("participants").asLong()).as("previous data kept").isEqualTo(before);
        assertThat(after.path("refreshedAt").asText()).isEqualTo(refreshedBefore);

        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode h = Json.mapper().readTree(health.body());
        assertThat(health.statusCode()).as("analytics do not take the gateway down: %s", health.body()).isEqualTo(200);
        assertThat(h.path("checks").path("analyticsViews").path("status").asText()).isEqualTo("DOWN");
        assertThat(h.path("checks").path("analyticsViews").path("error").asText()).contains("failed").contains("view_refreshes")
                .as("PostgreSQL's text stays out of the open /health").doesNotContain(failed.error()).doesNotContain("lock");
        assertThat(h.path("checks").path("analyticsViews").path("lastRefreshAt").asText()).isEqualTo(refreshedBefore);

        assertThat(refresher.refresh("test").status()).isEqualTo("ok");
        assertThat(getJson("/analytics/company", token).path("participants").asLong()).isEqualTo(before + 1);
        JsonNode healed = Json.mapper().readTree(HTTP.send(HttpRequest.newBuilder(URI.create(fx.base() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(healed.path("checks").path("analyticsViews").path("status").asText()).isEqualTo("UP");
    }

    @Test
    @Order(6)
    void aSecondRefreshWhileOneRunsIsSkippedNotQueued() throws Exception {
        try (Connection holder = pg.connect(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.execute("SELECT pg_advisory_xact_lock(hashtext('csr.refresh_analytics_materialized_views'), hashtext(current_schema()))");
            AnalyticsViewRefresher.Result r = refresher.refresh("test");
            assertThat(r.status()).isEqualTo("skipped");
            assertThat(r.id()).isNull();
            assertThat(r.error()).contains("another refresh");
            holder.rollback();
        }
        assertThat(refresher.refresh("test").status()).isEqualTo("ok");
    }
}
