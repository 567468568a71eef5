package io.csr.job.backfill;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.UserDayAgreement;
import io.csr.job.testing.PipelineExpectations;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.awaitility.Awaitility.await;

/** History (event_log) and live (NATS) events for the backfill and bootstrap ITCases, and what they must add up to. */
final class HistoryFixture {
    private final Random random = new Random(31);
    private int nextId;

    EventFixture.Message metric(String company, String metric, long at) {
        double value = Math.round(random.nextDouble() * 1000) / 10.0 + 1;
        String id = "m-" + (nextId++);
        // a few users, so that a user's day holds several observations (issue 25: user_daily_metrics)
        String body = "{\"eventId\":\"" + id + "\",\"companyId\":\"" + company + "\",\"userId\":\"u" + (nextId % 7)
                + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at) + "\",\"value\":" + value + "}";
        return new EventFixture.Message("metrics." + metric, body, company, id, metric, at, value, true, false);
    }

    EventFixture.Message journey(String company, String user, boolean value, long at) {
        String id = "j-" + (nextId++);
        String body = "{\"eventId\":\"" + id + "\",\"companyId\":\"" + company + "\",\"userId\":\"" + user + "\",\"occurredAt\":\""
                + Instant.ofEpochMilli(at) + "\",\"value\":" + value + "}";
        return new EventFixture.Message("journey.onboarded", body, company, id, null, at, value ? 1 : 0, true, false);
    }

    /** A test's own namespace everywhere: stream, ClickHouse database, PostgreSQL schema, Redis prefix, state dir. */
    static CsrConfig config(io.csr.job.testing.TestStream stream, String ns, java.nio.file.Path stateDir) {
        Map<String, String> keys = new HashMap<>();
        keys.put(ConfigKey.NATS_STREAM.name(), stream.stream);
        keys.put(ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix);
        keys.put(ConfigKey.CLICKHOUSE_DATABASE.name(), "csr_" + ns);
        keys.put(ConfigKey.POSTGRES_SCHEMA.name(), ns);
        keys.put(ConfigKey.REDIS_KEY_PREFIX.name(), ns + ":");
        keys.put(ConfigKey.JOB_PARALLELISM.name(), "2");
        keys.put(ConfigKey.CHECKPOINT_INTERVAL_MS.name(), "1000");
        keys.put(ConfigKey.CSR_STATE_DIR.name(), stateDir.toString());
        return CsrConfig.fromEnvironment().with(keys);
    }

    /**
     * The PostgreSQL schema and ClickHouse database of {@code config} migrated and {@code history} written to
     * event_log; the client is on that ClickHouse database (the caller closes it).
     */
    static ClickHouseAccess migratedStoresWith(CsrConfig config, List<EventFixture.Message> history) throws Exception {
        PostgresSettings pg = PostgresSettings.from(config);
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        ClickHouseAccess ch = ClickHouseAccess.open(ClickHouseSettings.from(config));
        try {
            ch.createDatabaseIfMissing();
            Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
            writeEventLog(pg, history);
            return ch;
        } catch (Exception | Error e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Removes what {@link #migratedStoresWith} and the jobs wrote in the namespace of {@code config}: the ClickHouse
     * database, the PostgreSQL schema and the update streams of {@code companies}.
     */
    static void dropNamespace(CsrConfig config, ClickHouseAccess ch, List<String> companies) throws Exception {
        ch.dropDatabase();
        try (Connection c = PostgresSettings.from(config).connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA " + config.get(ConfigKey.POSTGRES_SCHEMA) + " CASCADE");
        }
        try (Jedis redis = new Jedis(URI.create(config.get(ConfigKey.REDIS_URL)))) {
            for (String company : companies) {
                redis.del(RedisStreams.updatesKey(config.get(ConfigKey.REDIS_KEY_PREFIX), company));
            }
        }
    }

    static void awaitWindows(String what, ClickHouseAccess ch, List<EventFixture.Message> published) {
        PipelineExpectations expected = new PipelineExpectations(published, List.of(), "");
        try {
            await(what + ": every event committed").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> expected.eventsFinal(ch) == expected.distinctValidEvents());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            java.util.Set<String> have = new java.util.HashSet<>();
            for (JsonNode r : ch.query("SELECT company_id, event_id FROM events FINAL")) {
                have.add(r.get("company_id").asText() + "/" + r.get("event_id").asText());
            }
            List<String> missing = published.stream().map(m -> m.companyId() + "/" + m.eventId() + "@" + Instant.ofEpochMilli(m.occurredAtMs()))
                    .filter(k -> !have.contains(k.substring(0, k.indexOf('@')))).distinct().limit(20).toList();
            throw new AssertionError(what + ": " + expected.eventsFinal(ch) + " of " + expected.distinctValidEvents()
                    + " events committed; missing e.g. " + missing, e);
        }
        awaitRecomputation(what, "windows", "window", () -> expected.windowMismatches(ch));
        awaitRecomputation(what, "user days", "user-day", () -> UserDayAgreement.mismatches(ch));
    }

    /** Waits up to a minute until {@code mismatches} finds none; else fails with how many and the first ten. */
    private static void awaitRecomputation(String what, String rows, String row, java.util.function.Supplier<List<String>> mismatches) {
        try {
            await(what + ": " + rows + " equal the recomputation").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> mismatches.get().isEmpty());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            List<String> problems = mismatches.get();
            throw new AssertionError(what + ": " + problems.size() + " " + row + " mismatches, e.g. "
                    + problems.subList(0, Math.min(10, problems.size())), e);
        }
    }

    static Map<String, String> windows(ClickHouseAccess ch) {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode r : ch.query("SELECT company_id, metric, window_size, toUnixTimestamp(window_start) AS ws, count, sum, version"
                + " FROM metric_windows FINAL")) {
            out.put(r.get("company_id").asText() + "|" + r.get("window_size").asText() + "|" + r.get("ws").asLong(),
                    r.get("count").asLong() + "/" + r.get("sum").asDouble() + "/v" + r.get("version").asLong());
        }
        return out;
    }

    /** usersFlagged by the latest occurredAt per user over everything published. */
    static long expectedUsersFlagged(List<EventFixture.Message> published, String company) {
        Map<String, EventFixture.Message> latest = new HashMap<>();
        for (EventFixture.Message m : published) {
            if (m.subject().startsWith("journey.") && m.companyId().equals(company)) {
                String user = parse(m.body()).get("userId").asText();
                latest.merge(user, m, (a, b) -> b.occurredAtMs() >= a.occurredAtMs() ? b : a);
            }
        }
        return latest.values().stream().filter(m -> m.value() == 1).count();
    }

    /** usersFlagged of the highest-version journey update in the company's Redis stream (what the dashboard shows). */
    static long latestUsersFlagged(String prefix, String company) {
        try (Jedis redis = new Jedis(URI.create(CsrConfig.fromEnvironment().get(ConfigKey.REDIS_URL)))) {
            long best = -1;
            long flagged = -1;
            for (StreamEntry e : redis.xrange(RedisStreams.updatesKey(prefix, company), (StreamEntryID) null, null)) {
                if (!"journey_flag_updated".equals(e.getFields().get(RedisStreams.FIELD_TYPE))) {
                    continue;
                }
                JsonNode data = parse(e.getFields().get(RedisStreams.FIELD_DATA));
                if (data.get("version").asLong() > best) {
                    best = data.get("version").asLong();
                    flagged = data.get("usersFlagged").asLong();
                }
            }
            return flagged;
        }
    }

    static void writeEventLog(PostgresSettings pg, List<EventFixture.Message> history) throws Exception {
        try (Connection c = pg.connect(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (EventFixture.Message m : history) {
                ps.setString(1, m.eventId());
                ps.setString(2, m.subject());
                ps.setString(3, m.companyId());
                ps.setObject(4, Instant.ofEpochMilli(m.occurredAtMs()).atOffset(ZoneOffset.UTC));
                ps.setString(5, m.body());
                ps.setObject(6, Instant.ofEpochMilli(m.occurredAtMs()).plusSeconds(1).atOffset(ZoneOffset.UTC));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static JsonNode parse(String body) {
        try {
            return Json.mapper().readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
