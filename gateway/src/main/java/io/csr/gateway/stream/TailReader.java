package io.csr.gateway.stream;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XReadParams;
import redis.clients.jedis.resps.StreamEntry;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One Redis reader thread: a blocking {@code XREAD} over the streams of its partition's companies, fan-out to their
 * subscribers. After a Redis error it reconnects with exponential backoff (100 ms … 5 s) and checks, per company,
 * that its cursor entry still exists; when it does not (Redis restarted without the data, stream deleted), every
 * subscriber of that company gets {@code reset} — never a silent gap. The same check runs whenever an XREAD returns
 * entries, so a stream deleted and re-created between two reads is caught too.
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
    private Jedis conn;
    private boolean verifyCursors;

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
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(StreamHub.BLOCK_MS));
                continue;
            }
            try {
                if (conn == null) {
                    conn = hub.pool().getResource();
                    conn.clientSetname(name);
                    connected = true;
                }
                if (verifyCursors) {
                    verify(mine, null);
                    verifyCursors = false;
                }
                readOnce(mine);
                backoff = 100;
            } catch (RuntimeException e) {
                if (stopped || !hub.running()) {
                    break;
                }
                hub.metrics().redisError();
                lastError = String.valueOf(e.getMessage());
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
        if (conn != null) {
            try {
                conn.close();
            } catch (RuntimeException ignored) {
                // the connection is broken already
            }
            conn = null;
        }
    }

    private void readOnce(List<StreamHub.CompanyTail> mine) {
        Map<String, StreamEntryID> from = new HashMap<>();
        Map<String, StreamHub.CompanyTail> byKey = new HashMap<>();
        for (StreamHub.CompanyTail t : mine) {
            from.put(t.key, t.cursor);
            byKey.put(t.key, t);
        }
        List<Map.Entry<String, List<StreamEntry>>> result =
                conn.xread(XReadParams.xReadParams().block(StreamHub.BLOCK_MS).count(StreamHub.READ_COUNT), from);
        if (result == null || result.isEmpty()) {
            return;
        }
        verify(result.stream().map(e -> byKey.get(e.getKey())).filter(t -> t != null).toList(), from);
        int n = 0;
        for (Map.Entry<String, List<StreamEntry>> e : result) {
            StreamHub.CompanyTail tail = byKey.get(e.getKey());
            if (tail == null) {
                continue;
            }
            List<Update> batch = new java.util.ArrayList<>(e.getValue().size());
            for (StreamEntry entry : e.getValue()) {
                n++;
                Update u = SseFrames.toUpdate(tail.companyId, entry);
                if (u == null) {
                    LOG.warning(name + ": skipped entry " + entry.getID() + " of " + tail.key + ": not a Contract 3 update (fields type, data)");
                    continue;
                }
                batch.add(u);
            }
            if (!e.getValue().isEmpty()) {
                tail.cursor = e.getValue().get(e.getValue().size() - 1).getID();
                hub.metrics().fannedOut(tail.companyId, tail.cursor.toString());
            }
            if (batch.isEmpty()) {
                continue;
            }
            for (Subscriber s : tail.subscribers) {
                if (!s.offerAll(batch)) {
                    hub.metrics().eviction(tail.companyId);
                }
            }
        }
        hub.metrics().entriesRead(n);
    }

    /**
     * For each tail whose cursor names an entry, checks that entry is still in the stream (pipelined XRANGE id id).
     * A missing cursor entry means history between the cursor and now may be lost: subscribers get reset and the
     * cursor restarts at the stream's current end (or at its start when the stream was re-created after the check).
     */
    private void verify(List<StreamHub.CompanyTail> tails, Map<String, StreamEntryID> readFrom) {
        Map<StreamHub.CompanyTail, Response<List<StreamEntry>>> checks = new LinkedHashMap<>();
        Pipeline p = conn.pipelined();
        for (StreamHub.CompanyTail t : tails) {
            StreamEntryID c = readFrom == null ? t.cursor : readFrom.get(t.key);
            if (c != null && c.compareTo(StreamIds.ZERO) > 0) {
                checks.put(t, p.xrange(t.key, c, c, 1));
            }
        }
        p.sync();
        for (Map.Entry<StreamHub.CompanyTail, Response<List<StreamEntry>>> e : checks.entrySet()) {
            if (!e.getValue().get().isEmpty()) {
                continue;
            }
            StreamHub.CompanyTail t = e.getKey();
            StreamEntryID lost = readFrom == null ? t.cursor : readFrom.get(t.key);
            LOG.warning(name + ": entry " + lost + " of " + t.key + " is gone (Redis restarted or the stream was trimmed/deleted); sending reset to "
                    + t.subscribers.size() + " subscriber(s)");
            for (Subscriber s : t.subscribers) {
                s.offerReset(new Subscriber.Reset("history_lost",
                        "the update stream lost history after " + lost + " (Redis restart or stream deleted); reload a snapshot"));
                hub.metrics().reset(t.companyId);
            }
            if (readFrom == null) {
                // after a reconnect: continue from the start of whatever the stream holds now (all of it is new)
                t.cursor = StreamIds.ZERO;
            }
            // after a read: the entries just read are newer than the loss and are delivered after the reset
        }
    }
}
