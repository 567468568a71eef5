package io.csr.gateway.stream;

import io.csr.common.contract.RedisStreams;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.BuilderFactory;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XReadParams;
import redis.clients.jedis.resps.StreamEntry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One Redis reader thread: a blocking {@code XREAD} over the streams of its partition's companies (on a Redis
 * Cluster: polled single-key XREADs, pipelined per node), fan-out to their subscribers. After a Redis error it
 * reconnects with exponential backoff (100 ms … 5 s) and checks, per company, that its cursor entry still exists and
 * is the entry it read; when it does not (Redis restarted without the data, a failover lost the tail of the stream,
 * the stream was deleted, or the new master issued the cursor's id again for another entry), every subscriber of
 * that company gets {@code reset} — never a silent gap, never a wrong frame — and reading goes on after the cursor:
 * never from {@code 0-0}, which would send the whole retained history to every subscriber again. The same check runs
 * whenever an XREAD returns entries, so a stream deleted and re-created between two reads is caught too.
 */
final class TailReader {
    private static final Logger LOG = Logger.getLogger(TailReader.class.getName());
    private static final long MAX_BACKOFF_MS = 5_000;

    private final StreamHub hub;
    private final int partition;
    private final String name;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile boolean connected;
    private volatile long lastLoopNanos = System.nanoTime();
    private volatile String lastError = "";
    /** One Redis or Sentinel: this reader's own connection to the master. */
    private Jedis conn;
    /** Redis Cluster: this reader's own client (one connection per node, named after the reader). */
    private UnifiedJedis clusterConn;
    private boolean verifyCursors;
    /** The partition's tails of the last read, and its tails by stream key. */
    private List<StreamHub.CompanyTail> lastTails;
    private final Map<String, StreamHub.CompanyTail> byKey = new HashMap<>();
    /** What the last XREAD returned, fanned out once the checks sent with the next XREAD came back. */
    private final List<Read> pending = new ArrayList<>();

    TailReader(StreamHub hub, int partition, String name) {
        this.hub = hub;
        this.partition = partition;
        this.name = name;
        this.thread = Thread.ofPlatform().name("csr-" + name).daemon(true).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    void wake() {
        LockSupport.unpark(thread);
    }

    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
    }

    void join(long ms) throws InterruptedException {
        thread.join(ms);
    }

    boolean healthy() {
        return thread.isAlive() && (connected || hub.tailsOf(partition).isEmpty())
                && System.nanoTime() - lastLoopNanos < TimeUnit.SECONDS.toNanos(30);
    }

    Map<String, Object> state() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("alive", thread.isAlive());
        m.put("connected", connected);
        m.put("companies", hub.tailsOf(partition).size());
        m.put("lastError", lastError);
        return m;
    }

    private void run() {
        long backoff = 100;
        while (!stopped && hub.running()) {
            lastLoopNanos = System.nanoTime();
            List<StreamHub.CompanyTail> mine = hub.tailsOf(partition);
            if (mine.isEmpty()) {
                pending.clear(); // read for companies nobody here follows any more
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(StreamHub.BLOCK_MS));
                continue;
            }
            try {
                if (hub.cluster() ? clusterConn == null : conn == null) {
                    if (hub.cluster()) {
                        clusterConn = hub.openReaderClient(name); // talks to a node once built
                    } else {
                        conn = hub.openDirectReader(name);
                        conn.ping();
                        // only blocking reads and the checks pipelined with them run on this connection (Jedis's own
                        // blocking XREAD switched to the infinite timeout per call)
                        conn.getConnection().setTimeoutInfinite();
                    }
                    connected = true;
                }
                if (verifyCursors) {
                    verifyCursors(mine);
                    verifyCursors = false;
                }
                if (hub.cluster()) {
                    pollOnce(mine);
                } else {
                    readOnce(mine);
                }
                backoff = 100;
            } catch (RuntimeException e) {
                if (stopped || !hub.running()) {
                    break;
                }
                hub.metrics().redisError();
                // shown by the open /stream/health: when, not Redis's or the client's text (that goes to the log)
                lastError = "Redis read failed at " + Instant.now() + "; the cause is in the gateway log";
                LOG.log(Level.WARNING, name + ": Redis read failed (" + e.getMessage() + "); reconnecting in " + backoff + " ms");
                dropConnection();
                verifyCursors = true;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(backoff));
                backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
            }
        }
        dropConnection();
    }

    private void dropConnection() {
        connected = false;
        lastTails = null;
        unread();
        if (conn != null) {
            try {
                conn.close();
            } catch (RuntimeException ignored) {
                // the connection is broken already
            }
            conn = null;
        }
        if (clusterConn != null) {
            try {
                clusterConn.close();
            } catch (RuntimeException ignored) {
                // the connections are broken already
            }
            clusterConn = null;
        }
    }

    /**
     * One XREAD of the partition's streams, sent in one write together with the checks of what the previous XREAD
     * returned: that the entry each of its reads started after still exists (XRANGE id id), as Redis answers them after
     * that XREAD returned. A missing one means history was lost in between (stream deleted and re-created, trimmed):
     * its subscribers get a reset before the entries just read. The checks' answers come back at once, while this XREAD
     * may still block: the previous read is fanned out, then this read's answer is taken and becomes the pending one.
     * One round trip per read, where the checks used to take a second.
     */
    private void readOnce(List<StreamHub.CompanyTail> mine) {
        if (mine != lastTails) {
            lastTails = mine;
            byKey.clear();
            for (StreamHub.CompanyTail t : mine) {
                byKey.put(t.key, t);
            }
        }
        redis.clients.jedis.Connection c = conn.getConnection();
        for (Read r : pending) {
            if (r.checked()) {
                String at = r.from().toString();
                c.sendCommand(new CommandArguments(Protocol.Command.XRANGE).key(r.tail().key).add(at).add(at).add(Protocol.Keyword.COUNT).add(1));
            }
        }
        CommandArguments xread = new CommandArguments(Protocol.Command.XREAD).add(Protocol.Keyword.COUNT).add(StreamHub.READ_COUNT)
                .add(Protocol.Keyword.BLOCK).add(StreamHub.BLOCK_MS).add(Protocol.Keyword.STREAMS);
        for (StreamHub.CompanyTail t : mine) {
            xread.key(t.key);
        }
        for (StreamHub.CompanyTail t : mine) {
            xread.add(t.cursor.toString());
        }
        c.sendCommand(xread);
        if (!pending.isEmpty()) {
            boolean[] lost = new boolean[pending.size()];
            for (int i = 0; i < pending.size(); i++) {
                lost[i] = pending.get(i).checked() && BuilderFactory.STREAM_ENTRY_LIST.build(c.getOne()).isEmpty();
            }
            for (int i = 0; i < pending.size(); i++) {
                Read r = pending.get(i);
                if (lost[i]) {
                    historyLost(r.tail(), r.from());
                }
                fanOut(r);
            }
            pending.clear();
        }
        List<Map.Entry<String, List<StreamEntry>>> result = BuilderFactory.STREAM_READ_RESPONSE.build(c.getOne());
        if (result == null || result.isEmpty()) {
            return;
        }
        int n = 0;
        for (Map.Entry<String, List<StreamEntry>> e : result) {
            StreamHub.CompanyTail tail = byKey.get(e.getKey());
            List<StreamEntry> entries = e.getValue();
            if (tail == null || entries.isEmpty()) {
                continue;
            }
            n += entries.size();
            pending.add(advance(tail, entries));
        }
        hub.metrics().entriesRead(n);
        for (Read r : pending) {
            if (r.checked()) {
                return;
            }
        }
        // nothing to check (streams read from their start): no need to wait for the next round trip
        pending.forEach(this::fanOut);
        pending.clear();
    }

    /**
     * What one XREAD returned for one company: the entries after {@code from}, whole when {@code from} still exists.
     * {@code fromData} is the data of the entry at {@code from} as read before, to put the cursor back on a failure.
     */
    private record Read(StreamHub.CompanyTail tail, StreamEntryID from, String fromData, List<StreamEntry> entries) {
        /** Whether {@code from} must be checked: it names an entry, not already known lost (reset sent for it). */
        boolean checked() {
            return from.compareTo(StreamIds.ZERO) > 0 && !from.equals(tail.lostCursor);
        }
    }

    /** Moves the tail's cursor past {@code entries} (non-empty); the read to fan out once checked. */
    private Read advance(StreamHub.CompanyTail tail, List<StreamEntry> entries) {
        Read r = new Read(tail, tail.cursor, tail.cursorData, entries);
        StreamEntry last = entries.get(entries.size() - 1);
        tail.cursor = last.getID();
        tail.cursorData = last.getFields().get(RedisStreams.FIELD_DATA);
        hub.metrics().fannedOut(tail.companyId, tail.cursor.toString());
        return r;
    }

    /** Read but never fanned out when the connection failed: read again after the reconnect, from where it started. */
    private void unread() {
        for (int i = pending.size() - 1; i >= 0; i--) {
            pending.get(i).tail().cursor = pending.get(i).from();
            pending.get(i).tail().cursorData = pending.get(i).fromData();
        }
        pending.clear();
    }

    /**
     * Redis Cluster: one non-blocking single-key {@code XREAD} per company (a company is one slot, and an XREAD may
     * not span slots), sent as one pipeline per node, every {@link StreamHub#POLL_MS} ms while nothing arrives; then
     * the checks of the reads' starting entries (pipelined XRANGE id id), resets for lost ones, and the fan-out.
     */
    private void pollOnce(List<StreamHub.CompanyTail> mine) {
        List<Response<List<Map.Entry<String, List<StreamEntry>>>>> answers = new ArrayList<>(mine.size());
        try (AbstractPipeline p = clusterConn.pipelined()) {
            XReadParams params = XReadParams.xReadParams().count(StreamHub.READ_COUNT);
            for (StreamHub.CompanyTail t : mine) {
                answers.add(p.xread(params, Map.of(t.key, t.cursor)));
            }
            p.sync();
        }
        List<Read> reads = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < mine.size(); i++) {
            List<Map.Entry<String, List<StreamEntry>>> r = answers.get(i).get();
            if (r == null || r.isEmpty() || r.get(0).getValue().isEmpty()) {
                continue;
            }
            n += r.get(0).getValue().size();
            reads.add(advance(mine.get(i), r.get(0).getValue()));
        }
        if (reads.isEmpty()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(StreamHub.POLL_MS));
            return;
        }
        hub.metrics().entriesRead(n);
        pending.addAll(reads); // put back by unread() if the checks fail
        Map<Read, Response<List<StreamEntry>>> checks = new LinkedHashMap<>();
        try (AbstractPipeline p = clusterConn.pipelined()) {
            for (Read r : reads) {
                if (r.checked()) {
                    checks.put(r, p.xrange(r.tail().key, r.from(), r.from(), 1));
                }
            }
            p.sync();
        }
        for (Read r : reads) {
            Response<List<StreamEntry>> check = checks.get(r);
            if (check != null && check.get().isEmpty()) {
                historyLost(r.tail(), r.from());
            }
            fanOut(r);
        }
        pending.clear();
    }

    private void fanOut(Read read) {
        StreamHub.CompanyTail tail = read.tail();
        List<Update> batch = new ArrayList<>(read.entries().size());
        for (StreamEntry entry : read.entries()) {
            Update u = SseFrames.toUpdate(tail.companyId, entry);
            if (u == null) {
                LOG.warning(name + ": skipped entry " + entry.getID() + " of " + tail.key + ": not a Contract 3 update (fields type, data)");
                continue;
            }
            batch.add(u.withHttpChunk());
        }
        if (batch.isEmpty()) {
            return;
        }
        for (Subscriber s : tail.subscribers) {
            if (!s.offerAll(batch)) {
                hub.metrics().eviction(tail.companyId);
            }
        }
    }

    /**
     * The entry {@code lost} that a read of {@code t} started after is gone (or names another entry now): history up
     * to it may be lost, so every subscriber gets one reset (entries read after it are newer and follow the reset),
     * and the loss is recorded for clients that resume from it later ({@link RedisStreams#lostKey}).
     */
    private void historyLost(StreamHub.CompanyTail t, StreamEntryID lost) {
        LOG.warning(name + ": entry " + lost + " of " + t.key + " is gone or names another entry (Redis restarted, a failover lost it, "
                + "or the stream was trimmed/deleted); sending reset to " + t.subscribers.size() + " subscriber(s)");
        t.lostCursor = lost;
        recordLoss(t, lost);
        for (Subscriber s : t.subscribers) {
            s.offerReset(new Subscriber.Reset("history_lost",
                    "the update stream lost history up to " + lost + " (Redis restart or failover, or stream deleted); reload a snapshot"));
            hub.metrics().reset(t.companyId);
        }
    }

    /**
     * Records ids (newest entry before {@code lost}, {@code lost}] as lost, so a client of another gateway resuming
     * from one of them gets reset even where the id exists again. Best effort: a failure is logged, the reset stands.
     */
    private void recordLoss(StreamHub.CompanyTail t, StreamEntryID lost) {
        try {
            UnifiedJedis redis = hub.redis();
            List<StreamEntry> before = redis.xrevrange(t.key, "(" + lost, "-", 1);
            StreamEntryID from = before.isEmpty() ? StreamIds.ZERO
                    : new StreamEntryID(before.get(0).getID().getTime(), before.get(0).getID().getSequence() + 1);
            String key = hub.lostKeyOf(t.companyId);
            redis.hset(key, from.toString(), lost.toString());
            redis.pexpire(key, java.time.Duration.ofDays(1).toMillis());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, name + ": could not record the loss of " + t.key + " up to " + lost, e);
        }
    }

    /**
     * After a reconnect: for each tail whose cursor names an entry, checks that entry is still in the stream and is the
     * entry read (same data; pipelined XRANGE id id, on a cluster one pipeline per node). A missing or different one
     * means history up to the cursor may be lost (a Redis restart, a failover that lost the tail, a deleted stream, an
     * id issued again): subscribers get reset, and the cursor stays — the entries after it are new and follow the
     * reset. Never back to {@code 0-0}: that would send every subscriber the whole retained history again.
     */
    private void verifyCursors(List<StreamHub.CompanyTail> tails) {
        Map<StreamHub.CompanyTail, Response<List<StreamEntry>>> checks = new LinkedHashMap<>();
        try (AbstractPipeline p = hub.cluster() ? clusterConn.pipelined() : conn.pipelined()) {
            for (StreamHub.CompanyTail t : tails) {
                StreamEntryID c = t.cursor;
                if (c != null && c.compareTo(StreamIds.ZERO) > 0 && !c.equals(t.lostCursor)) {
                    checks.put(t, p.xrange(t.key, c, c, 1));
                }
            }
            p.sync();
        }
        for (Map.Entry<StreamHub.CompanyTail, Response<List<StreamEntry>>> e : checks.entrySet()) {
            List<StreamEntry> found = e.getValue().get();
            StreamHub.CompanyTail t = e.getKey();
            boolean same = !found.isEmpty()
                    && (t.cursorData == null || t.cursorData.equals(found.get(0).getFields().get(RedisStreams.FIELD_DATA)));
            if (!same) {
                historyLost(t, t.cursor);
            }
        }
    }
}
