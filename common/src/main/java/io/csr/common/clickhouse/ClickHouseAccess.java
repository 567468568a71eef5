package io.csr.common.clickhouse;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.ServerException;
import com.clickhouse.client.api.command.CommandResponse;
import com.clickhouse.client.api.command.CommandSettings;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.csr.common.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one ClickHouse access layer: {@code com.clickhouse:client-v2} over HTTP, JSONEachRow both ways (Jackson),
 * SQL kept inside the dialect that 18.16 and current releases share. Values reach SQL only through {@link SqlLiteral}.
 * Thread-safe; build once per process and close on shutdown.
 * <p>
 * With several endpoints in CLICKHOUSE_URL (the replicas of one shard, replicated layout only) every request goes to
 * one of them, the active one, shared by every access of the process with the same endpoints and database: the sink's
 * ledger and inserts and the late corrections always talk to the same replica. When a request fails because that
 * replica does not answer, the process fails over to the next replica that answers, once it has pulled the whole
 * replication log, and stays there (docs/pipeline.md, "Failing over to another replica").
 */
public final class ClickHouseAccess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClickHouseAccess.class);
    /** How long a failover waits for the new replica to fetch the parts it lacks before using it anyway. */
    static final long FAILOVER_CATCH_UP_MS = 10_000;
    private static final int PING_MS = 2_000;
    /** Server error codes worth retrying: timeouts, overload, network, too many parts, read-only replica. */
    private static final Set<Integer> RETRIABLE_CODES = Set.of(
            3, 159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999, 1000);
    private static final java.util.regex.Pattern CODE_IN_BODY = java.util.regex.Pattern.compile("Code: (\\d+)");
    private static final String FORMAT_SUFFIX = "FORMAT JSONEachRow";

    private final ClickHouseSettings settings;
    private final List<String> urls;
    private final List<Client> clients;
    private final ActiveReplica active;
    private final ObjectMapper mapper = Json.mapper();
    private final ObjectWriter rowWriter = Json.mapper().writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private ClickHouseAccess(ClickHouseSettings settings) {
        this.settings = settings;
        this.urls = settings.urls();
        this.clients = urls.stream().map(url -> client(settings, url)).toList();
        this.active = ActiveReplica.of(settings);
    }

    private static Client client(ClickHouseSettings settings, String url) {
        return new Client.Builder()
                .addEndpoint(url)
                .setUsername(settings.user())
                .setPassword(settings.password())
                .setDefaultDatabase(settings.database())
                .compressServerResponse(settings.compression())
                .compressClientRequest(settings.compression())
                .setConnectTimeout(5, ChronoUnit.SECONDS)
                .setSocketTimeout(settings.socketTimeoutMs(), ChronoUnit.MILLIS)
                .setMaxRetries(0) // retry policy belongs to the caller (the sink tells retriable from permanent)
                .build();
    }

    public static ClickHouseAccess open(ClickHouseSettings settings) {
        return new ClickHouseAccess(settings);
    }

    public ClickHouseSettings settings() {
        return settings;
    }

    public String database() {
        return settings.database();
    }

    /** True when the server (the active replica) answers {@code /ping}. */
    public boolean ping() {
        return answers(active.index(), 3_000);
    }

    private boolean answers(int endpoint, long timeoutMs) {
        try {
            return clients.get(endpoint).ping(timeoutMs);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The endpoint this process talks to now (one of CLICKHOUSE_URL's). */
    public String activeUrl() {
        return urls.get(active.index());
    }

    /** How often this process failed over to another replica of CLICKHOUSE_URL. */
    public long failovers() {
        return active.failovers();
    }

    /**
     * Before a read that must see every row committed so far (the late corrections read what the commit just wrote,
     * and the window's earlier rows): returns at once, without a query, unless this process failed over to a replica
     * that then still lacked parts of the replication log, i.e. parts only the replica it left holds. Until that
     * replica has fetched them this throws a retriable {@link ClickHouseAccessException}: the caller waits (the sink
     * retries its commit) rather than compute from incomplete rows.
     */
    public void requireCaughtUp() {
        if (active.caughtUp()) {
            return;
        }
        int endpoint = active.index();
        Lag lag = lag(endpoint);
        if (lag.caughtUp()) {
            active.markCaughtUp(endpoint);
            LOG.info("ClickHouse: {} has fetched every part of the replication log of {}; late corrections go on",
                    urls.get(endpoint), settings.database());
            return;
        }
        throw new ClickHouseAccessException("ClickHouse: " + urls.get(endpoint) + " still lacks " + lag
                + " of database " + settings.database() + " since this process failed over to it; a read that must see "
                + "every committed row waits until the replica holding them is back and they are fetched", null, true, 0);
    }

    /**
     * After a request to {@code used} failed for want of an answer: when {@code used} does not answer a ping either,
     * switches the process to the next endpoint (in CLICKHOUSE_URL order, wrapping) that answers, after waiting up to
     * {@link #FAILOVER_CATCH_UP_MS} for it to pull the replication log and fetch the parts it lacks. Another thread may
     * have switched already: then nothing happens. The failed request is not repeated here; its caller retries.
     */
    private void failOver(int used, ClickHouseAccessException failure) {
        synchronized (active) {
            if (active.index() != used || answers(used, PING_MS)) {
                return;
            }
            long start = System.nanoTime();
            for (int k = 1; k < clients.size(); k++) {
                int next = (used + k) % clients.size();
                if (!answers(next, PING_MS)) {
                    continue;
                }
                Lag lag = awaitCaughtUp(next, start + FAILOVER_CATCH_UP_MS * 1_000_000);
                active.switchTo(next, lag.caughtUp());
                LOG.warn("ClickHouse failover: {} does not answer ({}); this process now reads and writes through {} "
                                + "(failover {} of this process, after {} ms; {})", urls.get(used), failure.getMessage(), urls.get(next),
                        active.failovers(), (System.nanoTime() - start) / 1_000_000,
                        lag.caughtUp() ? "it holds every part of the replication log"
                                : "it still lacks " + lag + ": late corrections wait for them");
                return;
            }
        }
    }

    /** Replication state of this database's tables on one endpoint (the replicated layout; nothing to lack on one server). */
    record Lag(long fetches, long tablesBehind) {
        boolean caughtUp() {
            return fetches == 0 && tablesBehind == 0;
        }

        @Override
        public String toString() {
            return fetches + " parts to fetch, " + tablesBehind + " tables with log entries not yet pulled";
        }
    }

    /**
     * {@code inserts_in_queue}: parts in the log this replica has not fetched yet; {@code log_pointer <= log_max_index}:
     * log entries it has not pulled into its queue yet (log_pointer is the next entry it will pull).
     */
    private Lag lag(int endpoint) {
        if (!settings.replicated()) {
            return new Lag(0, 0);
        }
        JsonNode row = queryIn(clients.get(endpoint), "default", "SELECT sum(inserts_in_queue) AS fetches, "
                + "sum(log_max_index > 0 AND log_pointer <= log_max_index) AS behind FROM system.replicas WHERE database = "
                + SqlLiteral.string(settings.database()), JsonNode.class).get(0);
        return new Lag(row.get("fetches").asLong(), row.get("behind").asLong());
    }

    private Lag awaitCaughtUp(int endpoint, long deadlineNanos) {
        Lag lag = new Lag(-1, -1);
        while (true) {
            try {
                lag = lag(endpoint);
            } catch (ClickHouseAccessException e) {
                LOG.warn("ClickHouse failover: could not read the replication state of {}: {}", urls.get(endpoint), e.getMessage());
            }
            if (lag.caughtUp() || System.nanoTime() >= deadlineNanos) {
                return lag;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return lag;
            }
        }
    }

    @FunctionalInterface
    private interface Call<T> {
        T on(Client client) throws Exception;
    }

    /** Runs {@code call} on the active endpoint; a failure for want of an answer may switch the process to another. */
    private <T> T onActive(String what, Call<T> call) {
        int used = active.index();
        try {
            return call.on(clients.get(used));
        } catch (Exception e) {
            ClickHouseAccessException failure = classify(what, e);
            if (clients.size() > 1 && failure.retriable() && failure.serverCode() == 0) {
                failOver(used, failure);
            }
            throw failure;
        }
    }

    public String serverVersion() {
        return queryServer("SELECT version() AS v").get(0).get("v").asText();
    }

    /** Creates the configured database when missing (runs against {@code default}; on every server of a cluster). */
    public void createDatabaseIfMissing() {
        executeIn("default", "CREATE DATABASE IF NOT EXISTS " + SqlLiteral.identifier(settings.database()) + onCluster());
    }

    /** Drops the configured database with everything in it (tests' own namespaces; runs against {@code default}). */
    public void dropDatabase() {
        executeIn("default", "DROP DATABASE IF EXISTS " + SqlLiteral.identifier(settings.database()) + onCluster());
    }

    /** {@code " ON CLUSTER name"} in the replicated layout, else empty. */
    public String onCluster() {
        return settings.replicated() ? " ON CLUSTER " + SqlLiteral.identifier(settings.cluster()) : "";
    }

    /**
     * The table that holds a table's parts on each server: {@code <table>_local} under the Distributed table of the
     * replicated layout, the table itself on one server. Partition drops, OPTIMIZE and {@code system.parts} name this.
     */
    public String localTable(String table) {
        SqlLiteral.identifier(table);
        return settings.replicated() ? table + "_local" : table;
    }

    /**
     * Where to read {@code system.parts} of the data this client sees: the server's own on one server; in the
     * replicated layout every shard's (one replica each, the same replica the reads go to), since a Distributed table
     * has no parts of its own. Table names in it are the {@link #localTable local} ones.
     */
    public String systemParts() {
        return settings.replicated() ? "cluster(" + SqlLiteral.string(settings.cluster()) + ", system, parts)" : "system.parts";
    }

    /**
     * The replicated layout's session settings (sent on every request as URL parameters, understood by 18.16 and
     * 24.x): an INSERT into a Distributed table returns only once every shard's replica has the rows
     * (insert_distributed_sync), and every read and write goes to each shard's first live replica in remote_servers
     * order (load_balancing=in_order) — for the shard of the server this process talks to, that server itself
     * (prefer_localhost_replica=1), so after a failover to another replica the reads and writes follow the process
     * there — so what this process wrote is what it reads next (docs/pipeline.md), even
     * while that replica reports itself stale (max_replica_delay_for_distributed_queries=0: a replica restarted after
     * a crash reports an "infinite" delay until its first replication queue update, some 10 s here, and the default
     * 300 s limit then sends reads to the other replica, which lacks what only the pinned one had). A
     * Distributed table inside an IN or JOIN of a query over a Distributed table reads each shard's own local table
     * (distributed_product_mode=local): every table is sharded by company, so a company's rows on both sides meet on
     * one shard.
     */
    private void clusterSettings(QuerySettings qs) {
        if (settings.replicated()) {
            qs.serverSetting("load_balancing", "in_order");
            qs.serverSetting("prefer_localhost_replica", "1");
            qs.serverSetting("insert_distributed_sync", "1");
            qs.serverSetting("max_replica_delay_for_distributed_queries", "0");
            qs.serverSetting("distributed_product_mode", "local");
        }
    }

    /** DDL or a command without result rows, in the configured database. */
    public void execute(String sql) {
        executeIn(settings.database(), sql);
    }

    /**
     * A command with server settings of its own for this statement (e.g. the block size an {@code INSERT … SELECT}
     * writes its parts in, which a {@code SETTINGS} clause of the SELECT does not reach), in the configured database.
     */
    public void execute(String sql, Map<String, String> serverSettings) {
        executeIn(settings.database(), sql, serverSettings);
    }

    private void executeIn(String database, String sql) {
        executeIn(database, sql, Map.of());
    }

    private void executeIn(String database, String sql, Map<String, String> serverSettings) {
        CommandSettings cs = new CommandSettings();
        inDatabase(cs, database);
        clusterSettings(cs);
        serverSettings.forEach(cs::serverSetting);
        onActive(sql, c -> {
            try (CommandResponse ignored = await(c.execute(sql, cs), sql)) {
                return null; // nothing to read
            }
        });
    }

    /** Inserts rows serialized by Jackson as JSONEachRow; returns the number of rows written. */
    public long insertRows(String table, Collection<?> rows) {
        if (rows.isEmpty()) {
            return 0;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(rows.size() * 256);
        try {
            for (Object row : rows) {
                rowWriter.writeValue(body, row);
                body.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not serialize a row for " + table, e);
        }
        return insertJsonEachRow(table, body.toByteArray());
    }

    /** Inserts a ready JSONEachRow body (one JSON object per line). */
    public long insertJsonEachRow(String table, byte[] jsonEachRow) {
        long written = insertJsonEachRow(table, new ByteArrayInputStream(jsonEachRow), jsonEachRow.length);
        return written >= 0 ? written : countLines(jsonEachRow); // 18.16 sends no X-ClickHouse-Summary
    }

    /**
     * Inserts a JSONEachRow body read from {@code body} (e.g. decoded on the fly, never materialised); closes it.
     * Returns the rows ClickHouse reports written, or -1 where the server does not say (18.16).
     */
    public long insertJsonEachRow(String table, InputStream body, long bodyBytes) {
        SqlLiteral.identifier(table);
        String what = "INSERT INTO " + table + " FORMAT JSONEachRow (" + bodyBytes + " bytes)";
        InsertSettings is = new InsertSettings();
        is.setDatabase(settings.database());
        is.serverSetting("database", settings.database());
        if (settings.replicated()) {
            is.serverSetting("load_balancing", "in_order");
            is.serverSetting("prefer_localhost_replica", "1");
            is.serverSetting("insert_distributed_sync", "1");
            is.serverSetting("max_replica_delay_for_distributed_queries", "0");
        }
        try (InputStream in = body) {
            return onActive(what, c -> {
                try (InsertResponse response = await(c.insert(table, in, ClickHouseFormat.JSONEachRow, is), what)) {
                    return response.getWrittenRows();
                }
            });
        } catch (IOException e) {
            throw classify(what, e);
        }
    }

    /**
     * client-v2 names the database in the X-ClickHouse-Database header, which 18.16 ignores; the {@code database} URL
     * parameter is understood by every version, so both are sent.
     */
    private static void inDatabase(QuerySettings qs, String database) {
        qs.setDatabase(database);
        qs.serverSetting("database", database);
    }

    private static long countLines(byte[] body) {
        long n = 0;
        for (int i = 0; i < body.length; i++) {
            if (body[i] == '\n' && i > 0 && body[i - 1] != '\n') {
                n++;
            }
        }
        return body.length > 0 && body[body.length - 1] != '\n' ? n + 1 : n;
    }

    /** Runs a SELECT and returns its rows as JSON objects; {@code FORMAT JSONEachRow} is appended when missing. */
    public List<JsonNode> query(String sql) {
        return query(sql, JsonNode.class);
    }

    /** Runs a SELECT and maps each row with Jackson (64-bit integers arrive quoted; Jackson coerces them). */
    public <T> List<T> query(String sql, Class<T> type) {
        return queryIn(settings.database(), sql, type);
    }

    private List<JsonNode> queryServer(String sql) {
        return queryIn("default", sql, JsonNode.class);
    }

    private <T> List<T> queryIn(String database, String sql, Class<T> type) {
        String full = withFormat(sql);
        return onActive(full, c -> read(c, database, full, type));
    }

    /** A query on one given endpoint (no failover): a failover's own look at the replica it considers. */
    private <T> List<T> queryIn(Client c, String database, String sql, Class<T> type) {
        String full = withFormat(sql);
        try {
            return read(c, database, full, type);
        } catch (Exception e) {
            throw classify(full, e);
        }
    }

    private <T> List<T> read(Client c, String database, String full, Class<T> type) throws Exception {
        QuerySettings qs = new QuerySettings();
        inDatabase(qs, database);
        clusterSettings(qs);
        qs.setFormat(ClickHouseFormat.JSONEachRow);
        try (QueryResponse response = await(c.query(full, qs), full);
             MappingIterator<T> rows = mapper.readerFor(type).readValues(response.getInputStream())) {
            List<T> out = new ArrayList<>();
            while (rows.hasNextValue()) {
                out.add(rows.nextValue());
            }
            return out;
        }
    }

    /** Reads the body of a {@code FORMAT RowBinary} answer. */
    @FunctionalInterface
    public interface RowBinaryReader {
        void read(InputStream body) throws IOException;
    }

    /**
     * Runs a SELECT (without a FORMAT clause) as {@code FORMAT RowBinary} and hands the body to {@code reader}: for
     * answers of many rows, where parsing JSONEachRow would cost more than the query (numbers arrive as little-endian
     * fixed-width values, no text).
     */
    public void queryRowBinary(String sql, RowBinaryReader reader) {
        String full = sql.strip() + "\nFORMAT RowBinary";
        QuerySettings qs = new QuerySettings();
        inDatabase(qs, settings.database());
        clusterSettings(qs);
        qs.setFormat(ClickHouseFormat.RowBinary);
        onActive(full, c -> {
            try (QueryResponse response = await(c.query(full, qs), full);
                 InputStream body = new java.io.BufferedInputStream(response.getInputStream(), 1 << 16)) {
                reader.read(body);
                return null;
            }
        });
    }

    /** A single number from a one-row, one-column query such as {@code SELECT count() AS c FROM t}. */
    public long queryLong(String sql) {
        List<JsonNode> rows = query(sql);
        if (rows.size() != 1 || rows.get(0).size() != 1) {
            throw new ClickHouseAccessException("expected one row with one column from: " + sql + " but got " + rows, null, false, 0);
        }
        return rows.get(0).elements().next().asLong();
    }

    static String withFormat(String sql) {
        String trimmed = sql.strip();
        while (trimmed.endsWith(";")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1).strip();
        }
        if (trimmed.toUpperCase(Locale.ROOT).endsWith(FORMAT_SUFFIX.toUpperCase(Locale.ROOT))) {
            return trimmed;
        }
        return trimmed + "\n" + FORMAT_SUFFIX;
    }

    private <T> T await(CompletableFuture<T> future, String what) throws Exception {
        try {
            return future.get(settings.socketTimeoutMs() + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw classify(what, e.getCause() == null ? e : e.getCause());
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new ClickHouseAccessException("ClickHouse did not answer within " + settings.socketTimeoutMs() + " ms: " + abbreviate(what), e, true, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClickHouseAccessException("interrupted while waiting for ClickHouse: " + abbreviate(what), e, true, 0);
        }
    }

    /**
     * Retriable by code AND message: code 252 is TOO_MANY_PARTS both when merges lag behind inserts (transient: wait and
     * retry) and, on 24.x, when one INSERT touches more than max_partitions_per_insert_block partitions (permanent: the
     * same INSERT fails for ever, so retrying it would wedge the sink).
     */
    static boolean retriable(int code, String message) {
        return RETRIABLE_CODES.contains(code) && !permanent(message);
    }

    private static boolean permanent(String message) {
        return message != null && (message.contains("Too many partitions for single INSERT block")
                || message.contains("max_partitions_per_insert_block"));
    }

    static ClickHouseAccessException classify(String what, Throwable error) {
        if (error instanceof ClickHouseAccessException) {
            return (ClickHouseAccessException) error;
        }
        ServerException server = find(error, ServerException.class);
        if (server != null) {
            int code = server.getCode();
            if (code <= 0) { // 18.16 sends no X-ClickHouse-Exception-Code header: read "Code: 60, ..." from the body
                java.util.regex.Matcher m = CODE_IN_BODY.matcher(String.valueOf(server.getMessage()));
                code = m.find() ? Integer.parseInt(m.group(1)) : 0;
            }
            boolean retriable = (RETRIABLE_CODES.contains(code) || server.isRetryable()) && !permanent(String.valueOf(server.getMessage()));
            return new ClickHouseAccessException("ClickHouse rejected " + abbreviate(what) + ": code " + code + ": "
                    + firstLine(server.getMessage()), error, retriable, code);
        }
        boolean network = find(error, ConnectException.class) != null || find(error, SocketTimeoutException.class) != null
                || find(error, UnknownHostException.class) != null || find(error, IOException.class) != null
                || find(error, com.clickhouse.client.api.ConnectionInitiationException.class) != null;
        String msg = network
                ? "could not reach ClickHouse for " + abbreviate(what) + ": " + firstLine(String.valueOf(error.getMessage()))
                  + " (is it running? check CLICKHOUSE_URL or run bin/csr up)"
                : "ClickHouse call failed for " + abbreviate(what) + ": " + error;
        return new ClickHouseAccessException(msg, error, network, 0);
    }

    private static <E extends Throwable> E find(Throwable t, Class<E> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 500 ? line.substring(0, 500) + "…" : line;
    }

    private static String abbreviate(String sql) {
        String one = sql.replaceAll("\\s+", " ").strip();
        return one.length() > 200 ? one.substring(0, 200) + "…" : one;
    }

    @Override
    public void close() {
        clients.forEach(Client::close);
    }
}
