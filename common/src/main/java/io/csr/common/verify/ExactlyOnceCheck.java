package io.csr.common.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * What ClickHouse must hold after the job processed a set of published messages, recomputed from the messages
 * alone, and the comparison with what is there ({@code FINAL}). Windows are recomputed from ALL distinct valid
 * numeric events: an event too late for its window's allowed lateness is recorded in {@code late_events} and still
 * counted, by a correction recomputed from {@code metrics_timeseries FINAL}.
 * <p>
 * One verdict for every caller: the job's exactly-once ITCases (through their {@code PipelineExpectations}) and
 * {@code csr soak}, which keeps a ledger of what it published and judges the system by the same rules.
 */
public final class ExactlyOnceCheck {
    public static final Map<String, Long> WINDOW_SIZES = Map.of("1m", 60_000L, "1h", 3_600_000L, "1d", 86_400_000L);

    /**
     * One published message as the verdict needs it. {@code metric} is the windowed metric (q2q_… for q2q), null for
     * journey events and malformed messages; {@code streamSeq} the JetStream sequence it was stored under.
     */
    public record Published(String companyId, String eventId, String metric, long occurredAtMs, double value,
                            boolean valid, long streamSeq) {
    }

    private final List<Published> messages;
    private final String stream;

    public ExactlyOnceCheck(List<Published> messages, String stream) {
        this.messages = messages;
        this.stream = stream;
    }

    public long distinctValidEvents() {
        return messages.stream().filter(Published::valid).map(m -> m.companyId() + "/" + m.eventId()).distinct().count();
    }

    public Set<Long> malformedSequences() {
        Set<Long> out = new HashSet<>();
        for (Published m : messages) {
            if (!m.valid()) {
                out.add(m.streamSeq());
            }
        }
        return out;
    }

    /** Events under {@code FINAL}: copies of one event collapse, so this alone cannot see a duplicate insert. */
    public static long eventsFinal(ClickHouseAccess ch) {
        return ch.queryLong("SELECT count() FROM events FINAL");
    }

    /**
     * Counts every row inserted into {@code events}, {@code dead_letters} and {@code sink_commits} of the caller's
     * database, merge-proof: a materialized view on each feeds a SummingMergeTree table, so a merge of the source
     * collapses copies (ReplacingMergeTree) while a merge of its counter only adds the counts up. The counts hold
     * whatever merges, OPTIMIZE or server restarts happen ({@code SYSTEM STOP MERGES} does not survive a restart: 18.16
     * merged a table's parts within 0.9 s of starting, before a first request could stop it — measured). Call it right
     * after the migrations, before the job writes anything; {@link #rawProblems} reads the counters. (A server killed
     * between writing an INSERT's block to the table and to its counter leaves the two apart; a test that kills
     * ClickHouse mid-INSERT holds the INSERT before its block is complete, where neither is written.)
     */
    public static void installRawCounters(ClickHouseAccess ch) {
        installRawCounters(ch, "");
    }

    /**
     * {@link #installRawCounters(ClickHouseAccess)} over the tables named {@code events<sourceSuffix>} etc.: in the
     * replicated layout, call it with {@code "_local"} on a client of each server alone, before the job writes. Each
     * server's counters (plain SummingMergeTree, not replicated) then count the rows INSERTs stored on that server; a
     * materialized view does not fire on a part the server fetched from a replica (nor, in 18.16, on a block it
     * deduplicated), so the rows of every server add up to the rows ever inserted, each once ({@link #onServers}).
     */
    /** The commit ledger's key ({@code sql/clickhouse/003_sink_commits.sql}): one batch of one table. */
    private static final String LEDGER_KEY = "table_name, sink_id, checkpoint_id, subtask, writer_id, batch";
    private static final String LEDGER_KEY_COLUMNS = "table_name String, sink_id String, checkpoint_id UInt64, subtask UInt32, "
            + "writer_id String, batch UInt32";

    public static void installRawCounters(ClickHouseAccess ch, String sourceSuffix) {
        String db = SqlLiteral.identifier(ch.database()) + ".";
        String events = db + SqlLiteral.identifier("events" + sourceSuffix);
        String deadLetters = db + SqlLiteral.identifier("dead_letters" + sourceSuffix);
        String ledger = db + SqlLiteral.identifier("sink_commits" + sourceSuffix);
        ch.execute("CREATE TABLE IF NOT EXISTS " + db + "verify_events_inserted (company_id String, event_id String, n UInt64) "
                + "ENGINE = SummingMergeTree ORDER BY (company_id, event_id)");
        ch.execute("CREATE MATERIALIZED VIEW IF NOT EXISTS " + db + "verify_events_inserted_mv TO " + db + "verify_events_inserted "
                + "AS SELECT company_id, event_id, toUInt64(1) AS n FROM " + events);
        ch.execute("CREATE TABLE IF NOT EXISTS " + db + "verify_dead_letters_inserted (stream String, stream_seq UInt64, n UInt64) "
                + "ENGINE = SummingMergeTree ORDER BY (stream, stream_seq)");
        ch.execute("CREATE MATERIALIZED VIEW IF NOT EXISTS " + db + "verify_dead_letters_inserted_mv TO " + db
                + "verify_dead_letters_inserted AS SELECT stream, stream_seq, toUInt64(1) AS n FROM " + deadLetters);
        ch.execute("CREATE TABLE IF NOT EXISTS " + db + "verify_ledger_inserted (" + LEDGER_KEY_COLUMNS + ", rows UInt64, "
                + "entries UInt64) ENGINE = SummingMergeTree ORDER BY (" + LEDGER_KEY + ")");
        ch.execute("CREATE MATERIALIZED VIEW IF NOT EXISTS " + db + "verify_ledger_inserted_mv TO " + db + "verify_ledger_inserted "
                + "AS SELECT " + LEDGER_KEY + ", rows, toUInt64(1) AS entries FROM " + ledger);
    }

    /** The counters of the server the client talks to, in its database ({@link #installRawCounters(ClickHouseAccess)}). */
    public static final UnaryOperator<String> THIS_SERVER = counter -> counter;

    /**
     * The counters of every server at {@code tcpAddresses} (host:port of the native protocol) read as one table:
     * {@code remote()} takes comma-separated addresses as shards of their own, so the counts of all of them add up.
     * Name every server of a cluster (replicas included): an INSERT stores its rows on exactly one of them.
     */
    public static UnaryOperator<String> onServers(List<String> tcpAddresses, String database) {
        String addresses = SqlLiteral.string(String.join(",", tcpAddresses));
        String db = SqlLiteral.identifier(database);
        return counter -> "remote(" + addresses + ", " + db + ", " + SqlLiteral.identifier(counter) + ")";
    }

    /**
     * Active parts of {@code tables} (in the caller's database) that came out of a merge ({@code level > 0}): a raw
     * count taken on the tables themselves, not through {@link #installRawCounters}, is only worth something when this
     * is 0 (the merge may have collapsed the very copies it looks for).
     */
    public static long mergedParts(ClickHouseAccess ch, List<String> tables) {
        StringBuilder in = new StringBuilder();
        for (String table : tables) {
            in.append(in.length() == 0 ? "" : ", ").append(SqlLiteral.string(table));
        }
        return ch.queryLong("SELECT count() FROM system.parts WHERE active AND level > 0 AND database = "
                + SqlLiteral.string(ch.database()) + " AND table IN (" + in + ")");
    }

    /**
     * "Every event once" without {@code FINAL}, row for row, from the counters of every row ever inserted
     * ({@link #installRawCounters}), so no merge can hide a copy. Empty when it holds.
     * <ul>
     *   <li>No commit ledger batch (its key: table, sink, checkpoint, subtask, writer, batch) was recorded twice: the
     *       counter of every ledger row ever inserted shows each key once. A committer that inserts a replayed, already
     *       committed batch again and records it again breaks this — which {@code FINAL} and a merge hide.</li>
     *   <li>The ledger's batches, one per key, account for every valid event and every malformed message exactly once:
     *       the rows of its {@code events} batches add up to the distinct valid events, those of its
     *       {@code dead_letters} batches to the malformed messages (a batch recorded under a second key, or never
     *       recorded, breaks the sum). These are read from the ledger table, not its counter: ClickHouse writes an
     *       INSERT's block to the table and then to the materialized view, not atomically, so a server killed between
     *       the two leaves a ledger row its counter never saw — a gap in the counter, not in the ledger.</li>
     *   <li>With {@code faultDuringCommits} false (nothing was killed while a commit could be running: a savepoint
     *       stop, a clean restart) no row was inserted twice at all and every ledger row is in the counter. With it
     *       true, a batch inserted just before a crash and not yet recorded is inserted again on the replay
     *       (ClickHouseCommitter's documented window): raw copies are then allowed, but only of batches the ledger never
     *       recorded, which the sums above check; and a ledger row may be missing from its counter (above).</li>
     * </ul>
     */
    public List<String> rawProblems(ClickHouseAccess ch, boolean faultDuringCommits) {
        return rawProblems(ch, faultDuringCommits, THIS_SERVER);
    }

    /** {@link #rawProblems(ClickHouseAccess, boolean)} over the counters {@code counters} names ({@link #onServers}). */
    public List<String> rawProblems(ClickHouseAccess ch, boolean faultDuringCommits, UnaryOperator<String> counters) {
        List<String> problems = new ArrayList<>();
        String ledgerCounter = counters.apply("verify_ledger_inserted");
        long recordedTwice = ch.queryLong("SELECT count() FROM (SELECT sum(entries) AS e FROM " + ledgerCounter
                + " GROUP BY " + LEDGER_KEY + ") WHERE e > 1");
        if (recordedTwice != 0) {
            problems.add(recordedTwice + " commit ledger batches recorded twice under the same key (every ledger row ever "
                    + "inserted counted): a committer that inserted an already committed batch again");
        }
        // the batches as the ledger table holds them, one row per key (a merge may have collapsed the copies above)
        String batches = "(SELECT " + LEDGER_KEY + ", any(rows) AS rows FROM sink_commits GROUP BY " + LEDGER_KEY + ")";
        long ledgerEvents = ch.queryLong("SELECT sum(rows) FROM " + batches + " WHERE table_name = 'events'");
        long ledgerDeadLetters = ch.queryLong("SELECT sum(rows) FROM " + batches + " WHERE table_name = 'dead_letters'");
        if (ledgerEvents != distinctValidEvents()) {
            problems.add("the commit ledger's batches hold " + ledgerEvents + " events rows, not the " + distinctValidEvents()
                    + " distinct valid events: a batch committed under a second key, or never recorded");
        }
        if (ledgerDeadLetters != malformedSequences().size()) {
            problems.add("the commit ledger's batches hold " + ledgerDeadLetters + " dead_letters rows, not the "
                    + malformedSequences().size() + " malformed messages");
        }
        long uncounted = ch.queryLong("SELECT count() FROM " + batches) - ch.queryLong("SELECT count() FROM (SELECT "
                + LEDGER_KEY + " FROM " + ledgerCounter + " GROUP BY " + LEDGER_KEY + ")");
        if (!faultDuringCommits && uncounted != 0) {
            problems.add(uncounted + " commit ledger batches in the table but not in its counter, without a crash to "
                    + "explain them (a server killed between an INSERT's table and its materialized view)");
        }
        long eventCopies = rawEventCopies(ch, counters);
        long deadLetterCopies = rawDeadLetterCopies(ch, counters);
        if (!faultDuringCommits && (eventCopies != 0 || deadLetterCopies != 0)) {
            problems.add("rows inserted twice without a crash to explain them: " + eventCopies + " extra events rows, "
                    + deadLetterCopies + " extra dead_letters rows");
        }
        return problems;
    }

    /** Events rows ever inserted beyond one per (company, event): copies FINAL (or a merge) would collapse. */
    public static long rawEventCopies(ClickHouseAccess ch) {
        return rawEventCopies(ch, THIS_SERVER);
    }

    public static long rawEventCopies(ClickHouseAccess ch, UnaryOperator<String> counters) {
        return ch.queryLong("SELECT sum(n) - uniqExact(company_id, event_id) FROM " + counters.apply("verify_events_inserted"));
    }

    /** Dead_letters rows of this stream ever inserted beyond one per stream sequence. */
    public long rawDeadLetterCopies(ClickHouseAccess ch) {
        return rawDeadLetterCopies(ch, THIS_SERVER);
    }

    public long rawDeadLetterCopies(ClickHouseAccess ch, UnaryOperator<String> counters) {
        return ch.queryLong("SELECT sum(n) - uniqExact(stream, stream_seq) FROM " + counters.apply("verify_dead_letters_inserted")
                + " WHERE stream = " + SqlLiteral.string(stream));
    }

    /**
     * One replica's own rows of a replicated layout, raw (no {@code FINAL}), against the counters of its shard's
     * servers ({@link #onServers}); {@code replica} is a client of that server alone. Empty when it holds. Every row
     * a replica holds is in a part an INSERT stored on one of its shard's servers, itself or a replica it fetched the
     * part from (replication copies parts, it never makes rows), and a merge only removes copies: so no replica may
     * hold more copies of an event or a dead letter than those INSERTs stored, merged or not. Without a fault during
     * commits they stored none, and every replica must hold every event and dead letter exactly once, row for row.
     */
    public List<String> replicaRawProblems(ClickHouseAccess replica, String name, ClickHouseAccess ch, UnaryOperator<String> shardCounters) {
        List<String> problems = new ArrayList<>();
        long eventCopies = replica.queryLong("SELECT count() - uniqExact(company_id, event_id) FROM events_local");
        long insertedEventCopies = rawEventCopies(ch, shardCounters);
        if (eventCopies > insertedEventCopies) {
            problems.add(name + " holds " + eventCopies + " extra events rows (raw, events_local), more than the "
                    + insertedEventCopies + " extra rows INSERTs stored on its shard");
        }
        long deadLetterCopies = replica.queryLong("SELECT count() - uniqExact(stream, stream_seq) FROM dead_letters_local WHERE stream = "
                + SqlLiteral.string(stream));
        long insertedDeadLetterCopies = rawDeadLetterCopies(ch, shardCounters);
        if (deadLetterCopies > insertedDeadLetterCopies) {
            problems.add(name + " holds " + deadLetterCopies + " extra dead_letters rows (raw, dead_letters_local), more than the "
                    + insertedDeadLetterCopies + " extra rows INSERTs stored on its shard");
        }
        return problems;
    }

    public List<Long> deadLetterSequences(ClickHouseAccess ch) {
        List<Long> out = new ArrayList<>();
        for (JsonNode r : ch.query("SELECT stream_seq FROM dead_letters FINAL WHERE stream = '" + stream + "'")) {
            out.add(r.get("stream_seq").asLong());
        }
        return out;
    }

    /** Differences between metric_windows FINAL and the recomputation; empty when they agree. */
    public List<String> windowMismatches(ClickHouseAccess ch) {
        Map<String, List<Double>> expected = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (Published m : messages) {
            if (!m.valid() || m.metric() == null || !seen.add(m.companyId() + "/" + m.eventId())) {
                continue;
            }
            for (Map.Entry<String, Long> size : WINDOW_SIZES.entrySet()) {
                long start = Math.floorDiv(m.occurredAtMs(), size.getValue()) * size.getValue() / 1000;
                expected.computeIfAbsent(m.companyId() + "|" + m.metric() + "|" + size.getKey() + "|" + start,
                        k -> new ArrayList<>()).add(m.value());
            }
        }
        List<String> problems = new ArrayList<>();
        Set<String> actualKeys = new HashSet<>();
        for (JsonNode r : ch.query("SELECT company_id, metric, window_size, toUInt32(window_start) AS ws, count, sum, min, max,"
                + " p50, p75, p95 FROM metric_windows FINAL")) {
            String key = r.get("company_id").asText() + "|" + r.get("metric").asText() + "|" + r.get("window_size").asText()
                    + "|" + r.get("ws").asLong();
            actualKeys.add(key);
            List<Double> values = expected.get(key);
            if (values == null) {
                problems.add("unexpected window " + key + " " + r);
                continue;
            }
            double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double sum = Arrays.stream(v).sum();
            if (r.get("count").asLong() != v.length) {
                problems.add(key + " count " + r.get("count").asLong() + " != " + v.length);
            }
            if (Math.abs(r.get("sum").asDouble() - sum) > 1e-6 * Math.max(1, Math.abs(sum))) {
                problems.add(key + " sum " + r.get("sum").asDouble() + " != " + sum);
            }
            // exact up to ClickHouse 18.16's float text parsing, which may land one ulp off ("2.47" -> 2.4699999999999998)
            if (!sameDouble(r.get("min").asDouble(), v[0]) || !sameDouble(r.get("max").asDouble(), v[v.length - 1])) {
                problems.add(key + " min/max " + r.get("min") + "/" + r.get("max") + " != " + v[0] + "/" + v[v.length - 1]);
            }
            for (String[] q : new String[][]{{"p50", "0.50"}, {"p75", "0.75"}, {"p95", "0.95"}}) {
                double rank = Double.parseDouble(q[1]) * (v.length - 1);
                double lo = v[(int) Math.floor(rank)] * 0.99 - 1e-9;
                double hi = v[(int) Math.ceil(rank)] * 1.01 + 1e-9;
                double p = r.get(q[0]).asDouble();
                if (p < lo || p > hi) {
                    problems.add(key + " " + q[0] + " " + p + " outside [" + lo + ", " + hi + "] (1% of the exact quantile)");
                }
            }
        }
        for (String key : expected.keySet()) {
            if (!actualKeys.contains(key)) {
                problems.add("missing window " + key + " (" + expected.get(key).size() + " events)");
            }
        }
        return problems;
    }

    private static boolean sameDouble(double a, double b) {
        return a == b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    }
}
