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
 * never from {@code 0-0}, which would send the whole retained history to every subscriber again. A read's starting
 * entry is checked the same way, at most once per {@code STREAM_HISTORY_CHECK_MS} per stream and before the first read after a quiet second is
 * fanned out, so a stream deleted, re-created or trimmed while tailed is caught too (see {@link #readOnce}).
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
    /** Reads waiting for the history check sent with the next XREAD: fanned out once it came back. */
    private final List<Read> pending = new ArrayList<>();
    /** Per stream, the reads fanned out since its last history check: checked by the next (see {@link #readOnce}). */
    private final Map<StreamHub.CompanyTail, Unchecked> unchecked = new LinkedHashMap<>();
    /** When the first of {@link #unchecked} is due for its check ({@link System#nanoTime}); meaningless while it is empty. */
    private long uncheckedDueNanos;

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
                unchecked.clear();
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
        for (StreamHub.CompanyTail t : unchecked.keySet()) {
            t.historyChecked = false; // checked before the first read after the reconnect is fanned out
        }
        uncheckedDueNanos = System.nanoTime();
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
     * One XREAD of the partition's streams. A read that starts after an entry ({@link Read#checked}) is fanned out at
     * once when its stream's history was checked less than {@code STREAM_HISTORY_CHECK_MS} (1 s) ago; its start is then kept
     * as unchecked (the earliest per stream, with the last id fanned out since). Otherwise, and for a stream never
     * checked, the read waits: one check goes in the same write as the next XREAD, before it, covering the waiting
     * reads and every stream's unchecked start (a non-blocking {@code XREAD COUNT 1} from just before each start:
     * the start still exists, with the data read, when it comes back first). It is also sent when unchecked starts
     * are due with no read waiting. A start that is gone means history after it may be lost (stream deleted and
     * re-created, trimmed past it): the stream's subscribers get a reset, after the frames fanned out since that start
     * and before the waiting read's. So history loss is reported at most that interval plus one
     * XREAD block ({@link StreamHub#BLOCK_MS}) after the first frame that followed it; at most one check command per
     * second per partition while its streams are read, where every read used to carry one.
     */
    private void readOnce(List<StreamHub.CompanyTail> mine) {
        keyTails(mine);
        long now = System.nanoTime();
        List<Check> checks = pending.isEmpty() && !uncheckedDue(now) ? List.of() : checks(pending);
        redis.clients.jedis.Connection c = conn.getConnection();
        if (!checks.isEmpty()) {
            CommandArguments check = new CommandArguments(Protocol.Command.XREAD).add(Protocol.Keyword.COUNT).add(1).add(Protocol.Keyword.STREAMS);
            for (Check k : checks) {
                check.key(k.tail().key);
            }
            for (Check k : checks) {
                check.add(StreamIds.before(k.from()));
            }
            c.sendCommand(check);
        }
        CommandArguments xread = new CommandArguments(Protocol.Command.XREAD).add(Protocol.Keyword.COUNT).add(StreamHub.READ_COUNT)
                .add(Protocol.Keyword.BLOCK).add(StreamHub.BLOCK_MS).add(Protocol.Keyword.STREAMS);
        for (StreamHub.CompanyTail t : mine) {
            xread.key(t.keyBytes);
        }
        for (StreamHub.CompanyTail t : mine) {
            xread.add(t.cursorArg());
        }
        c.sendCommand(xread);
        if (!checks.isEmpty()) {
            List<Map.Entry<String, List<StreamEntry>>> found = BuilderFactory.STREAM_READ_RESPONSE.build(c.getOne());
            for (Check k : checks) {
                checked(k, found, now);
            }
            unchecked.clear();
        }
        for (int i = 0, k = pending.size(); i < k; i++) {
            fanOut(pending.get(i));
        }
        pending.clear();
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
            Read r = advance(tail, entries);
            if (r.checked() && due(tail, now)) {
                pending.add(r);
                continue;
            }
            if (r.checked()) {
                noteUnchecked(r, now);
            }
            fanOut(r);
        }
        hub.metrics().entriesRead(n);
    }

    /** The partition's tails by stream key, derived again when the partition's list changed. */
    private void keyTails(List<StreamHub.CompanyTail> mine) {
        if (mine != lastTails) {
            lastTails = mine;
            byKey.clear();
            for (StreamHub.CompanyTail t : mine) {
                byKey.put(t.key, t);
            }
        }
    }

    /** The outcome of one check ({@code found}: what its XREAD returned): a reset when its start is gone; checked now. */
    private void checked(Check k, List<Map.Entry<String, List<StreamEntry>>> found, long now) {
        if (!k.foundIn(found)) {
            historyLost(k.tail(), k.from(), k.fannedOutTo());
        }
        k.tail().historyChecked = true;
        k.tail().historyCheckedNanos = now;
    }

    /** Whether {@code t}'s history is to be checked before its next read is fanned out. */
    private boolean due(StreamHub.CompanyTail t, long now) {
        return !t.historyChecked || now - t.historyCheckedNanos >= hub.historyCheckNanos;
    }

    /**
     * Whether an unchecked start is due for its check: the earliest due time is kept as starts are added
     * ({@link #noteUnchecked}), so the reader's loop does not walk them (an iterator per XREAD) to find out.
     */
    private boolean uncheckedDue(long now) {
        return !unchecked.isEmpty() && now - uncheckedDueNanos >= 0;
    }

    /** Keeps {@code r}'s start as unchecked (the earliest per stream) with the last id fanned out since. */
    private void noteUnchecked(Read r, long now) {
        StreamHub.CompanyTail tail = r.tail();
        Unchecked u = unchecked.get(tail);
        if (u == null) {
            u = new Unchecked(r.from(), r.fromData());
            long dueAt = tail.historyChecked ? tail.historyCheckedNanos + hub.historyCheckNanos : now;
            if (unchecked.isEmpty() || dueAt - uncheckedDueNanos < 0) {
                uncheckedDueNanos = dueAt;
            }
            unchecked.put(tail, u);
        }
        u.fannedOutTo = tail.cursor;
    }

    /** The checks of the {@code waiting} reads and of every unchecked start of a stream still tailed, one per stream. */
    private List<Check> checks(List<Read> waiting) {
        Map<StreamHub.CompanyTail, Check> checks = new LinkedHashMap<>();
        for (Map.Entry<StreamHub.CompanyTail, Unchecked> e : unchecked.entrySet()) {
            StreamHub.CompanyTail t = e.getKey();
            if (byKey.get(t.key) == t) {
                checks.put(t, new Check(t, e.getValue().from, e.getValue().fromData, e.getValue().fannedOutTo));
            }
        }
        for (Read r : waiting) {
            // an unchecked start of the same stream is earlier: its check covers this read too
            checks.putIfAbsent(r.tail(), new Check(r.tail(), r.from(), r.fromData(), r.from()));
        }
        return new ArrayList<>(checks.values());
    }

    /**
     * The start {@code from} of reads of {@code tail} (its entry's data {@code fromData}, null when unknown), to be
     * checked; {@code fannedOutTo} is the last id fanned out after it, which a resume must not trust when it is gone.
     */
    private record Check(StreamHub.CompanyTail tail, StreamEntryID from, String fromData, StreamEntryID fannedOutTo) {
        /** Whether the check's XREAD found {@code from} as the first entry at or after it, with the data read. */
        boolean foundIn(List<Map.Entry<String, List<StreamEntry>>> found) {
            if (found == null) {
                return false;
            }
            for (Map.Entry<String, List<StreamEntry>> e : found) {
                if (e.getKey().equals(tail.key) && !e.getValue().isEmpty()) {
                    StreamEntry first = e.getValue().get(0);
                    return first.getID().equals(from)
                            && (fromData == null || fromData.equals(first.getFields().get(RedisStreams.FIELD_DATA)));
                }
            }
            return false;
        }
    }

    /** The earliest start of reads of a stream fanned out since its last check, and the last id fanned out since. */
    private static final class Unchecked {
        final StreamEntryID from;
        final String fromData;
        StreamEntryID fannedOutTo;

        Unchecked(StreamEntryID from, String fromData) {
            this.from = from;
            this.fromData = fromData;
        }
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
     * not span slots), sent as one pipeline per node, every {@link StreamHub#POLL_MS} ms while nothing arrives. The
     * history checks are those of {@link #readOnce}, at most once per {@code STREAM_HISTORY_CHECK_MS} per stream: a read
     * whose stream is due is checked before it is fanned out, the others go out at once and their starts are checked
     * by the next check; the checks (one {@code XRANGE start + COUNT 1} each) go in one pipeline per node, between
     * the poll and the fan-out, and only in a poll that has a read waiting or an unchecked start due.
     */
    private void pollOnce(List<StreamHub.CompanyTail> mine) {
        keyTails(mine);
        List<Response<List<Map.Entry<String, List<StreamEntry>>>>> answers = new ArrayList<>(mine.size());
        try (AbstractPipeline p = clusterConn.pipelined()) {
            XReadParams params = XReadParams.xReadParams().count(StreamHub.READ_COUNT);
            for (StreamHub.CompanyTail t : mine) {
                answers.add(p.xread(params, Map.of(t.key, t.cursor)));
            }
            p.sync();
        }
        long now = System.nanoTime();
        List<Read> waiting = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < mine.size(); i++) {
            List<Map.Entry<String, List<StreamEntry>>> r = answers.get(i).get();
            if (r == null || r.isEmpty() || r.get(0).getValue().isEmpty()) {
                continue;
            }
            n += r.get(0).getValue().size();
            Read read = advance(mine.get(i), r.get(0).getValue());
            pending.add(read); // put back by unread() if the checks fail
            if (read.checked() && due(read.tail(), now)) {
                waiting.add(read);
            }
        }
        if (n > 0) {
            hub.metrics().entriesRead(n);
        }
        if (!waiting.isEmpty() || uncheckedDue(now)) {
            List<Check> checks = checks(waiting);
            List<Response<List<StreamEntry>>> found = new ArrayList<>(checks.size());
            try (AbstractPipeline p = clusterConn.pipelined()) {
                for (Check k : checks) {
                    found.add(p.xrange(k.tail().key, k.from().toString(), "+", 1)); // the first entry at or after the start
                }
                p.sync();
            }
            for (int i = 0; i < checks.size(); i++) {
                checked(checks.get(i), List.of(Map.entry(checks.get(i).tail().key, found.get(i).get())), now);
            }
            unchecked.clear();
        }
        for (Read r : pending) {
            if (r.checked() && !waiting.contains(r)) {
                noteUnchecked(r, now);
            }
            fanOut(r);
        }
        boolean idle = pending.isEmpty();
        pending.clear();
        if (idle) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(StreamHub.POLL_MS));
        }
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
     * and the loss is recorded for clients that resume from it later ({@link RedisStreams#lostKey}) — up to
     * {@code fannedOutTo}, the last id fanned out before this reset, whose frames may have followed the gap.
     */
    private void historyLost(StreamHub.CompanyTail t, StreamEntryID lost, StreamEntryID fannedOutTo) {
        LOG.warning(name + ": entry " + lost + " of " + t.key + " is gone or names another entry (Redis restarted, a failover lost it, "
                + "or the stream was trimmed/deleted); sending reset to " + t.subscribers.size() + " subscriber(s)");
        t.lostCursor = lost;
        recordLoss(t, lost, fannedOutTo);
        for (Subscriber s : t.subscribers) {
            s.offerReset(new Subscriber.Reset("history_lost",
                    "the update stream lost history up to " + lost + " (Redis restart or failover, or stream deleted); reload a snapshot"));
            hub.metrics().reset(t.companyId);
        }
    }

    /**
     * Records ids (newest entry before {@code lost}, {@code to}] as lost, so a client of another gateway resuming
     * from one of them gets reset even where the id exists again. Best effort: a failure is logged, the reset stands.
     */
    private void recordLoss(StreamHub.CompanyTail t, StreamEntryID lost, StreamEntryID to) {
        try {
            UnifiedJedis redis = hub.redis();
            List<StreamEntry> before = redis.xrevrange(t.key, "(" + lost, "-", 1);
            StreamEntryID from = before.isEmpty() ? StreamIds.ZERO
                    : new StreamEntryID(before.get(0).getID().getTime(), before.get(0).getID().getSequence() + 1);
            String key = hub.lostKeyOf(t.companyId);
            redis.hset(key, from.toString(), to.toString());
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
                unchecked.remove(t); // this reset covers the reads fanned out before it
                historyLost(t, t.cursor, t.cursor);
            }
        }
    }
}
