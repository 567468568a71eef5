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
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one ClickHouse access layer: {@code com.clickhouse:client-v2} over HTTP, JSONEachRow both ways (Jackson),
 * SQL kept inside the dialect that 18.16 and current releases share. Values reach SQL only through {@link SqlLiteral}.
 * Thread-safe; build once per process and close on shutdown.
 */
public final class ClickHouseAccess implements AutoCloseable {
    /** Server error codes worth retrying: timeouts, overload, network, too many parts, read-only replica. */
    private static final Set<Integer> RETRIABLE_CODES = Set.of(
            3, 159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999, 1000);
    private static final java.util.regex.Pattern CODE_IN_BODY = java.util.regex.Pattern.compile("Code: (\\d+)");
    private static final String FORMAT_SUFFIX = "FORMAT JSONEachRow";

    private final ClickHouseSettings settings;
    private final Client client;
    private final ObjectMapper mapper = Json.mapper();
    private final ObjectWriter rowWriter = Json.mapper().writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private ClickHouseAccess(ClickHouseSettings settings) {
        this.settings = settings;
        this.client = new Client.Builder()
                .addEndpoint(settings.url())
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

    /** True when the server answers {@code /ping}. */
    public boolean ping() {
        try {
            return client.ping(3_000);
        } catch (RuntimeException e) {
            return false;
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
     * order (load_balancing=in_order), so what this process wrote is what it reads next (docs/pipeline.md), even
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
            qs.serverSetting("insert_distributed_sync", "1");
            qs.serverSetting("max_replica_delay_for_distributed_queries", "0");
            qs.serverSetting("distributed_product_mode", "local");
        }
    }

    /** DDL or a command without result rows, in the configured database. */
    public void execute(String sql) {
        executeIn(settings.database(), sql);
    }

    private void executeIn(String database, String sql) {
        CommandSettings cs = new CommandSettings();
        inDatabase(cs, database);
        clusterSettings(cs);
        try (CommandResponse ignored = await(client.execute(sql, cs), sql)) {
            // nothing to read
        } catch (ClickHouseAccessException e) {
            throw e;
        } catch (Exception e) {
            throw classify(sql, e);
        }
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
            is.serverSetting("insert_distributed_sync", "1");
            is.serverSetting("max_replica_delay_for_distributed_queries", "0");
        }
        try (InputStream in = body;
             InsertResponse response = await(client.insert(table, in, ClickHouseFormat.JSONEachRow, is), what)) {
            return response.getWrittenRows();
        } catch (ClickHouseAccessException e) {
            throw e;
        } catch (Exception e) {
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
        QuerySettings qs = new QuerySettings();
        inDatabase(qs, database);
        clusterSettings(qs);
        qs.setFormat(ClickHouseFormat.JSONEachRow);
        try (QueryResponse response = await(client.query(full, qs), full);
             MappingIterator<T> rows = mapper.readerFor(type).readValues(response.getInputStream())) {
            List<T> out = new ArrayList<>();
            while (rows.hasNextValue()) {
                out.add(rows.nextValue());
            }
            return out;
        } catch (ClickHouseAccessException e) {
            throw e;
        } catch (Exception e) {
            throw classify(full, e);
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
        try (QueryResponse response = await(client.query(full, qs), full);
             InputStream body = new java.io.BufferedInputStream(response.getInputStream(), 1 << 16)) {
            reader.read(body);
        } catch (ClickHouseAccessException e) {
            throw e;
        } catch (Exception e) {
            throw classify(full, e);
        }
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
        client.close();
    }
}
