package io.csr.gateway.cohort;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.common.clickhouse.SqlLiteral;
import io.csr.gateway.cohort.CohortParams.DateRange;

import java.time.YearMonth;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The active parts of {@code metrics_timeseries} and {@code user_daily_metrics} in the months of one request's range,
 * from {@code system.parts} (about a millisecond): how many rows each table holds there (which source reads less,
 * {@link CohortQueries#sourceFor}) and which ranges may be read without {@code FINAL}.
 *
 * <p><b>Without FINAL, and still exact.</b> FINAL collapses the copies of a row: copies in different parts, and copies
 * within one part that an INSERT wrote (18.16 does not collapse rows at insert time). A part that a merge wrote (level
 * above 0) holds one row per sorting key, since the merge applied the table's replacing rule to every row it read. A
 * month whose partition is exactly one such part (what the retention run's compaction leaves, {@code
 * RETENTION_COMPACT_MONTHS}) reads the same rows with and without FINAL; 18.16 reads FINAL in one stream that reads
 * and merges the sorting key's columns ({@code event_id} too) of every row the member filter keeps — about half of
 * {@code top}'s ClickHouse time over a month of the benchmark's data. A range is read without FINAL only when every
 * month it touches is such a month (or has no parts at all), in both tables alike.
 *
 * <p><b>On every server.</b> In the replicated layout a read goes to one replica of each shard: the first that answers
 * in remote_servers order (load_balancing=in_order), this process's own server for its shard. Which one it reached is
 * not known to the process, and a replica that lags (has not yet fetched a merge, or holds a replayed batch the other
 * has not fetched) holds other parts than its peer. So the parts are read from every server of the cluster, each
 * replica of each shard ({@code remote()} over the addresses in {@code system.clusters}, each its own shard, as the
 * cluster's user, with this process's password when that is this process's user, {@link Servers#remote}), each
 * server grouping its own ({@code distributed_group_by_no_merge}), and a month counts as one merged part only when it is
 * one on every server that holds it: whichever replica a read reaches, it reads one row per key. The cluster's
 * membership comes with every read of the parts; a server that does not answer, or a membership that differs from
 * the addresses asked, reads everything with FINAL (the parts of the replicas the reads go to, {@link
 * ClickHouseAccess#systemParts}, still give the rows for the choice of source). Rows are then the sum over every
 * replica: each table's by the same factor, so the choice between them is unchanged.
 *
 * <p><b>Checked after the query.</b> A query reads the parts active when it starts. Part names never repeat (every
 * INSERT takes new block numbers; merges, mutations and drops replace parts, and a replaced part never becomes active
 * again), so when the same parts, by name and rows, are active after the query as at some moment before it, the active
 * parts were exactly those all along and the query read them; a part added meanwhile, or its merged successor, would
 * show. When they moved and a read went without FINAL, {@link CohortQueries} reads the request again with FINAL
 * ({@link #withFinal}). The same rule as the per-cohort months' input mark ({@link CohortMonths}). That moment need not
 * be in the same request: the check after one request's query is the parts read of the next request over the same
 * months within {@link Reader#REUSE_NANOS}, which then reads the parts once, not twice.
 */
final class ReadParts {
    static final String OBSERVATIONS = "metrics_timeseries";
    static final String DAYS = "user_daily_metrics";

    private record Partition(long parts, long minLevel, long rows) {
        /** Exactly one part, and one a merge wrote: one row per key. */
        boolean merged() {
            return parts == 1 && minLevel > 0;
        }

        Partition plus(Partition onAnotherServer) {
            return new Partition(Math.max(parts, onAnotherServer.parts), Math.min(minLevel, onAnotherServer.minLevel),
                    rows + onAnotherServer.rows);
        }
    }

    /**
     * The parts of some months at one moment. {@code everyServer}: read from every server that may serve a read (false
     * when some server did not answer: then nothing is read without FINAL).
     */
    private record Snapshot(String key, String stamp, Map<String, Partition> byMonth, boolean everyServer, long readAtNanos) {
        static final Snapshot NONE = new Snapshot("", "", Map.of(), false, 0);

        /** Every month of both tables one merged part (or none): a request may read all of it without FINAL. */
        boolean allMerged() {
            return everyServer && byMonth.values().stream().allMatch(Partition::merged);
        }
    }

    private final Snapshot snapshot;
    private final boolean withFinal;
    private boolean readWithoutFinal;

    private ReadParts(Snapshot snapshot, boolean withFinal) {
        this.snapshot = snapshot;
        this.withFinal = withFinal || !snapshot.everyServer();
    }

    /** Every read with FINAL, and no rows known (a fixed source needs none): no query. */
    static ReadParts alwaysFinal() {
        return new ReadParts(Snapshot.NONE, true);
    }

    /** The same parts, every read with FINAL: for reading a request again after its parts moved. */
    ReadParts withFinal() {
        return new ReadParts(snapshot, true);
    }

    /** Rows the table's active parts hold in the range's months (all companies; an estimate for the choice of source). */
    long rows(String table, DateRange range) {
        long n = 0;
        for (YearMonth m = YearMonth.from(range.start()); !m.isAfter(YearMonth.from(range.end())); m = m.plusMonths(1)) {
            Partition p = snapshot.byMonth().get(table + "/" + CohortMonths.partition(m));
            n += p == null ? 0 : p.rows();
        }
        return n;
    }

    /**
     * " FINAL", or "" when every month of the range is one merged part (or none) in the table; the caller then checks
     * {@link Reader#stillCurrent} after its query.
     */
    String finalFor(String table, DateRange range) {
        if (!withoutFinal(table, range)) {
            return " FINAL";
        }
        readWithoutFinal = true;
        return "";
    }

    /** Whether the table's range would be read without FINAL: every month of it one merged part, or none. */
    boolean withoutFinal(String table, DateRange range) {
        if (withFinal) {
            return false;
        }
        for (YearMonth m = YearMonth.from(range.start()); !m.isAfter(YearMonth.from(range.end())); m = m.plusMonths(1)) {
            Partition p = snapshot.byMonth().get(table + "/" + CohortMonths.partition(m));
            if (p != null && !p.merged()) {
                return false;
            }
        }
        return true;
    }

    /** Whether some read of this request went without FINAL. */
    boolean readWithoutFinal() {
        return readWithoutFinal;
    }

    /**
     * Reads the parts for requests, and keeps the last read per range of months: a request within {@link #REUSE_NANOS}
     * of it takes it as its parts read (see the class comment), and the check after a query stores what it read.
     */
    static final class Reader {
        /**
         * How long a read of the parts serves as the next request's parts read. The check after the query makes any
         * age exact (a replaced part never becomes active again, so parts equal after the query to those of any
         * earlier read were the active ones all through the query); this only keeps the rows that choose the source
         * recent.
         */
        static final long REUSE_NANOS = 10_000_000_000L;
        /** After a server did not answer the read of every server's parts: how long reads keep FINAL without trying it. */
        static final long UNREACHABLE_NANOS = 10_000_000_000L;
        private static final int KEPT = 64;

        private final ClickHouseAccess clickHouse;
        private final Map<String, Snapshot> last = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Snapshot> eldest) {
                return size() > KEPT;
            }
        });
        /** The replicated layout's servers as last read from system.clusters ({@link Servers}), or null before. */
        private volatile Servers servers;
        private volatile long unreachableUntil = System.nanoTime();

        Reader(ClickHouseAccess clickHouse) {
            this.clickHouse = clickHouse;
        }

        /**
         * The request's parts: the last read over the same months when it is recent and every month in it is one merged
         * part (then the check after the query follows, which makes it exact), else a new read. A month that was not
         * merged is read again, so a compaction is seen at once.
         */
        ReadParts of(DateRange range, boolean withFinal) {
            String key = CohortMonths.partition(YearMonth.from(range.start())) + "-" + CohortMonths.partition(YearMonth.from(range.end()));
            Snapshot s = withFinal ? null : last.get(key);
            if (s == null || !s.allMerged() || System.nanoTime() - s.readAtNanos() > REUSE_NANOS) {
                s = read(key);
            }
            return new ReadParts(s, withFinal);
        }

        /**
         * Whether the same parts (names and rows, on every server) are active now as in the request's parts read; what
         * this reads is kept as the next request's parts read. A server that does not answer: not current.
         */
        boolean stillCurrent(ReadParts parts) {
            Snapshot now = read(parts.snapshot.key());
            return now.everyServer() && now.stamp().equals(parts.snapshot.stamp());
        }

        private Snapshot read(String key) {
            String[] months = key.split("-");
            String where = " WHERE database = " + SqlLiteral.string(clickHouse.database()) + " AND active AND table IN ("
                    + SqlLiteral.string(clickHouse.localTable(OBSERVATIONS)) + ", " + SqlLiteral.string(clickHouse.localTable(DAYS)) + ")"
                    + " AND partition_id >= " + SqlLiteral.string(months[0]) + " AND partition_id <= " + SqlLiteral.string(months[1])
                    + " GROUP BY table, partition_id";
            String columns = "SELECT table, partition_id, count() AS parts, toUInt64(min(level)) AS level, sum(rows) AS rows,"
                    + " arrayStringConcat(arraySort(groupArray(name)), ',') AS names FROM ";
            if (!clickHouse.settings().replicated()) {
                return snapshot(key, clickHouse.query(columns + "system.parts" + where), null);
            }
            if (System.nanoTime() - unreachableUntil < 0) {
                return incomplete(key, columns + clickHouse.systemParts() + where);
            }
            try {
                Servers asked = servers;
                if (asked == null) {
                    asked = Servers.read(clickHouse);
                    servers = asked;
                }
                // first the cluster's membership now (one row), then each server's parts, each server grouping its own
                if (asked.names().isEmpty()) { // not (yet) in system.clusters: not known which servers reads reach
                    servers = null;
                    return incomplete(key, columns + clickHouse.systemParts() + where);
                }
                // the membership row first: ClickHouseAccess shows at most a statement's first 200 characters in an
                // error or a log line, and the membership query alone is longer, so remote()'s password never shows
                List<JsonNode> rows = clickHouse.query(Servers.sql(clickHouse) + " UNION ALL " + columns
                        + asked.remote(clickHouse.settings().user(), clickHouse.settings().password()) + where
                        + " SETTINGS distributed_group_by_no_merge = 1");
                Snapshot s = snapshot(key, rows, asked);
                if (!s.everyServer()) {
                    servers = Servers.of(rows.stream().filter(r -> r.get("table").asText().isEmpty()).findFirst().orElseThrow());
                }
                return s;
            } catch (ClickHouseAccessException e) {
                unreachableUntil = System.nanoTime() + UNREACHABLE_NANOS;
                return incomplete(key, columns + clickHouse.systemParts() + where);
            }
        }

        /** The parts of the replicas the reads go to (rows for the choice of source), with every read with FINAL. */
        private Snapshot incomplete(String key, String sql) {
            Snapshot s = snapshot(key, clickHouse.query(sql), null);
            return new Snapshot(key, s.stamp(), s.byMonth(), false, s.readAtNanos());
        }

        /** {@code asked}: the servers of a read of every server, whose membership row must name them; null on one server. */
        private Snapshot snapshot(String key, List<JsonNode> rows, Servers asked) {
            String observations = clickHouse.localTable(OBSERVATIONS);
            List<String> lines = new ArrayList<>();
            Map<String, Partition> byMonth = new HashMap<>();
            boolean everyServer = asked == null;
            for (JsonNode r : rows) {
                String table = r.get("table").asText();
                if (table.isEmpty()) { // the cluster's membership
                    everyServer = asked.equals(Servers.of(r));
                    lines.add("servers " + r.get("names").asText());
                    continue;
                }
                String name = table.equals(observations) ? OBSERVATIONS : DAYS;
                String month = r.get("partition_id").asText();
                byMonth.merge(name + "/" + month, new Partition(r.get("parts").asLong(), r.get("level").asLong(), r.get("rows").asLong()),
                        Partition::plus);
                lines.add(name + "/" + month + "/" + r.get("names").asText() + "/" + r.get("rows").asText());
            }
            Collections.sort(lines); // the servers answer in any order
            Snapshot s = new Snapshot(key, String.join(" ", lines), Map.copyOf(byMonth), everyServer, System.nanoTime());
            if (everyServer) {
                Snapshot before = last.put(key, s);
                if (before != null && !before.stamp().equals(s.stamp())) {
                    // parts moved: a kept read over other months may name the same months' old parts; reusing it would
                    // cost its request a read without FINAL and the read again with FINAL
                    last.clear();
                    last.put(key, s);
                }
            }
            return s;
        }
    }

    /**
     * The servers of the replicated layout's cluster, every replica of every shard, as {@code system.clusters} names them
     * (host, native port, the user the cluster connects as).
     */
    record Servers(String names) {
        /** The membership row: the same columns as the parts rows, {@code table} empty (one row, also for no server). */
        static String sql(ClickHouseAccess clickHouse) {
            return sql(clickHouse.settings().cluster());
        }

        static String sql(String cluster) {
            return "SELECT materialize('') AS table, materialize('') AS partition_id, toUInt64(0) AS parts, toUInt64(0) AS level,"
                    + " toUInt64(0) AS rows, arrayStringConcat(arraySort(groupArray(concat(host_name, ' ', toString(port), ' ', user))), ',')"
                    + " AS names FROM system.clusters WHERE cluster = " + SqlLiteral.string(cluster);
        }

        static Servers read(ClickHouseAccess clickHouse) {
            return of(clickHouse.query(sql(clickHouse)).get(0));
        }

        static Servers of(JsonNode membershipRow) {
            return new Servers(membershipRow.get("names").asText());
        }

        /**
         * {@code remote('h:p,h:p,…', system, parts, 'user'[, 'password'])}: each server its own shard, so every one
         * answers. The user is the one the cluster connects as ({@code system.clusters}, which does not show its
         * password); when that is this process's own user ({@code CLICKHOUSE_USER}), its password
         * ({@code CLICKHOUSE_PASSWORD}) goes along as a literal, so a cluster whose user has a password is read too
         * (without it every such read failed and every request kept FINAL). Another user's password is not known here:
         * then none is sent, as before.
         */
        String remote(String ownUser, String ownPassword) {
            StringJoiner addresses = new StringJoiner(",");
            String user = "default";
            for (String server : names.split(",")) {
                String[] w = server.split(" ", -1);
                addresses.add((w[0].contains(":") ? "[" + w[0] + "]" : w[0]) + ":" + w[1]);
                user = w[2];
            }
            return "remote(" + SqlLiteral.string(addresses.toString()) + ", system, parts, " + SqlLiteral.string(user)
                    + (user.equals(ownUser) ? ", " + SqlLiteral.string(ownPassword) : "") + ")";
        }
    }
}
