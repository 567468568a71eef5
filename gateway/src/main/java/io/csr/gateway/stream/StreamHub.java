package io.csr.gateway.stream;

import io.csr.common.contract.RedisStreams;
import io.csr.common.redis.RedisEndpoint;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Tails the Redis streams of the companies that have subscribers on this node and fans their entries out to the
 * subscribers' bounded buffers. A fixed number of reader threads ({@code STREAM_READERS}) each own a hash partition
 * of the companies and do one blocking {@code XREAD} over all of that partition's streams, so Redis sees K
 * connections per node, never one per SSE client. On a Redis Cluster an XREAD may not span slots (each company is
 * its own slot, by its key's hash tag), so there a reader polls instead: one pipeline per Redis node with one
 * non-blocking single-key XREAD per company, every {@link #POLL_MS} ms while nothing arrives. Each company's read position (its <em>cursor</em>) is fixed
 * synchronously when its first subscriber arrives, so a replay (XRANGE of that company's stream only) done after
 * subscribing overlaps the live feed and the writer drops the overlap by id: no gap, no repeat.
 */
public final class StreamHub implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StreamHub.class.getName());
    static final int BLOCK_MS = 500;
    static final int READ_COUNT = 1000;

    /** A company with subscribers on this node, and where its stream has been read up to. */
    static final class CompanyTail {
        final String companyId;
        final String key;
        volatile StreamEntryID cursor;
        /** The data of the entry at {@link #cursor} as read, so that an id issued again for another entry is seen. */
        volatile String cursorData;
        /** A cursor known to be lost (its subscribers were reset for it): not checked, nor reset for, again. */
        volatile StreamEntryID lostCursor;
        /**
         * Iterated once per read batch by the fan-out, changed only on connect/disconnect: a copy-on-write array
         * iterates without the hash-table walk (14% of gateway CPU at 100k deliveries/s with a concurrent key set).
         */
        final Set<Subscriber> subscribers = new java.util.concurrent.CopyOnWriteArraySet<>();
        /** Whether the reader has checked this tail's history since it was created or its connection last failed (reader thread only). */
        boolean historyChecked;
        /** When the reader last sent that check ({@link System#nanoTime}; reader thread only). */
        long historyCheckedNanos;
        /** The stream key as sent to Redis, encoded once rather than for every XREAD. */
        final byte[] keyBytes;
        /** {@link #cursorArg}'s cache: the cursor it was encoded for, and the encoding (reader thread only). */
        private StreamEntryID argOf;
        private byte[] arg;

        CompanyTail(String companyId, String key, StreamEntryID cursor) {
            this.companyId = companyId;
            this.key = key;
            this.keyBytes = key.getBytes(StandardCharsets.UTF_8);
            this.cursor = cursor;
        }

        /** The cursor as an XREAD argument, encoded again only when it moved (a blocking read sends every tail's). */
        byte[] cursorArg() {
            StreamEntryID c = cursor;
            if (c != argOf) {
                arg = c.toString().getBytes(StandardCharsets.US_ASCII);
                argOf = c;
            }
            return arg;
        }
    }

    /** Outcome of checking a client's resume id against the company's stream. */
    public record ResumeCheck(StreamEntryID from, String resetReason, String resetDetail) {
        public boolean replay() {
            return resetReason == null;
        }
    }

    static final long POLL_MS = 20;

    private final UnifiedJedis redis;
    private final RedisEndpoint endpoint;
    private final boolean cluster;
    private final String keyPrefix;
    private final StreamMetrics metrics;
    private final Map<String, CompanyTail> tails = new ConcurrentHashMap<>();
    private final List<TailReader> readers = new ArrayList<>();
    private volatile boolean running = true;
    /** How long a stream's reads are fanned out without checking its history again ({@code STREAM_HISTORY_CHECK_MS}). */
    final long historyCheckNanos;
    /** {@link #tailsOf} per reader partition, replaced whole on every change of {@link #tails}. */
    private volatile List<CompanyTail>[] partitions;
    private final Thread ticker;
    private final Deadlines deadlines = new Deadlines();
    static final long TICK_MS = 100;

    /**
     * {@code redis} serves subscribe, resume checks and replays; each reader opens its own client to {@code endpoint}
     * (one named connection per Redis node), so a blocked XREAD never holds a connection others wait for.
     */
    public StreamHub(UnifiedJedis redis, RedisEndpoint endpoint, String keyPrefix, int readerCount, Duration historyCheck,
                     StreamMetrics metrics, String nodeName) {
        this.redis = redis;
        this.historyCheckNanos = historyCheck.toNanos();
        this.endpoint = endpoint;
        this.cluster = endpoint.cluster();
        this.keyPrefix = keyPrefix;
        this.metrics = metrics;
        for (int i = 0; i < readerCount; i++) {
            readers.add(new TailReader(this, i, nodeName + "-reader-" + i));
        }
        repartition();
        this.ticker = Thread.ofPlatform().name("csr-" + nodeName + "-ticker").daemon(true).unstarted(this::tick);
    }

    /**
     * Wakes writers whose deadline (heartbeat, token expiry, idle timeout) has passed, every {@link #TICK_MS}; one
     * thread per node, which visits only the deadlines that came ({@link Deadlines}).
     */
    private void tick() {
        while (running) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(TICK_MS));
            long now = System.currentTimeMillis();
            for (Deadlines.Due d : deadlines.takeDue(now)) {
                d.subscriber().deadlineCame(d.atMillis(), now);
            }
        }
    }

    public void start() {
        readers.forEach(TailReader::start);
        ticker.start();
    }

    public String keyOf(String companyId) {
        return RedisStreams.updatesKey(keyPrefix, companyId);
    }

    int partitionOf(String companyId) {
        return Math.floorMod(companyId.hashCode(), readers.size());
    }

    UnifiedJedis redis() {
        return redis;
    }

    /** A reader's own connection to the one Redis or the Sentinel's master: CLIENT LIST shows the reader's name. */
    redis.clients.jedis.Jedis openDirectReader(String readerName) {
        return endpoint.openDirect(readerName, 5_000);
    }

    /** A Redis Cluster reader's own client: CLIENT LIST shows it under the reader's name. */
    UnifiedJedis openReaderClient(String readerName) {
        return endpoint.open(readerName, 5_000, 1);
    }

    /** True on a Redis Cluster: readers poll per company instead of one blocking XREAD over many keys. */
    boolean cluster() {
        return cluster;
    }

    String lostKeyOf(String companyId) {
        return RedisStreams.lostKey(keyPrefix, companyId);
    }

    StreamMetrics metrics() {
        return metrics;
    }

    boolean running() {
        return running;
    }

    /**
     * The partition's tails, the same list instance until a company is added or removed (a reader keeps what it derives
     * from it, e.g. its tails by stream key, until then).
     */
    List<CompanyTail> tailsOf(int partition) {
        return partitions[partition];
    }

    /** Recomputes the partitions' lists after the set of tails changed; whichever call runs last saw the last change. */
    private synchronized void repartition() {
        List<List<CompanyTail>> out = new ArrayList<>();
        for (int i = 0; i < readers.size(); i++) {
            out.add(new ArrayList<>());
        }
        for (CompanyTail t : tails.values()) {
            out.get(partitionOf(t.companyId)).add(t);
        }
        @SuppressWarnings("unchecked")
        List<CompanyTail>[] next = new List[out.size()];
        for (int i = 0; i < next.length; i++) {
            next[i] = List.copyOf(out.get(i));
        }
        partitions = next;
    }

    /**
     * Registers a subscriber for live events of the company. When the company is new on this node its cursor is set
     * to the stream's current last entry before this returns. Throws a Redis exception when Redis cannot be reached.
     */
    public Subscriber subscribe(String companyId, int capacity) {
        Subscriber s = new Subscriber(companyId, capacity, Thread.currentThread(), deadlines);
        boolean[] created = {false};
        tails.compute(companyId, (id, tail) -> {
            if (tail == null) {
                String key = keyOf(id);
                List<StreamEntry> last = redis.xrevrange(key, "+", "-", 1);
                tail = new CompanyTail(id, key, last.isEmpty() ? StreamIds.ZERO : last.get(0).getID());
                tail.cursorData = last.isEmpty() ? null : last.get(0).getFields().get(RedisStreams.FIELD_DATA);
                created[0] = true;
            }
            tail.subscribers.add(s);
            return tail;
        });
        if (created[0]) {
            repartition();
            readers.get(partitionOf(companyId)).wake();
        }
        return s;
    }

    public void unsubscribe(Subscriber s) {
        boolean[] removed = {false};
        tails.computeIfPresent(s.companyId(), (id, tail) -> {
            tail.subscribers.remove(s);
            removed[0] = tail.subscribers.isEmpty();
            return removed[0] ? null : tail;
        });
        if (removed[0]) {
            repartition();
        }
    }

    /** Decides whether {@code lastEventId} can be resumed from exactly: it must be an entry still in the stream. */
    public ResumeCheck checkResume(String companyId, String lastEventId) {
        Optional<StreamEntryID> parsed = StreamIds.parse(lastEventId);
        if (parsed.isEmpty()) {
            return new ResumeCheck(null, "malformed_id", "Last-Event-ID '" + abbreviate(lastEventId) + "' is not a stream id like 1732700000000-0; showing live events only — reload a snapshot");
        }
        StreamEntryID id = parsed.get();
        String key = keyOf(companyId);
        if (!redis.xrange(key, id, id, 1).isEmpty()) {
            String range = lostRangeOf(companyId, id);
            if (range != null) {
                return new ResumeCheck(null, "id_reissued", "event " + id + " was lost in a Redis failover (ids " + range
                        + ") and the id may now name another update; reload a snapshot");
            }
            return new ResumeCheck(id, null, null);
        }
        List<StreamEntry> first = redis.xrange(key, "-", "+", 1);
        if (first.isEmpty() || id.compareTo(first.get(0).getID()) < 0) {
            return new ResumeCheck(null, "expired", "event " + id + " is older than the retained history of this company's stream "
                    + "(REDIS_STREAM_RETENTION_HOURS, REDIS_STREAM_MAXLEN); reload a snapshot");
        }
        return new ResumeCheck(null, "unknown_id", "event " + id + " is not in this company's stream (Redis lost history or the id is from elsewhere); reload a snapshot");
    }

    /** The recorded failover loss ({@code from..to}) that {@code id} falls in, or null. */
    String lostRangeOf(String companyId, StreamEntryID id) {
        for (Map.Entry<String, String> r : redis.hgetAll(lostKeyOf(companyId)).entrySet()) {
            Optional<StreamEntryID> from = StreamIds.parse(r.getKey());
            Optional<StreamEntryID> to = StreamIds.parse(r.getValue());
            if (from.isPresent() && to.isPresent() && id.compareTo(from.get()) >= 0 && id.compareTo(to.get()) <= 0) {
                return r.getKey() + ".." + r.getValue();
            }
        }
        return null;
    }

    /** Up to {@code count} entries strictly after {@code after}, in order. */
    public List<StreamEntry> rangeAfter(String companyId, StreamEntryID after, int count) {
        return redis.xrange(keyOf(companyId), "(" + after, "+", count);
    }

    /** The id of the newest entry of a stream, if any. */
    Optional<StreamEntryID> lastId(String key) {
        List<StreamEntry> last = redis.xrevrange(key, "+", "-", 1);
        return last.isEmpty() ? Optional.empty() : Optional.of(last.get(0).getID());
    }

    public Optional<StreamEntryID> lastIdOf(String companyId) {
        return lastId(keyOf(companyId));
    }

    /** Connections per company on this node (companies with at least one subscriber). */
    public Map<String, Integer> subscriberCounts() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        tails.forEach((id, t) -> out.put(id, t.subscribers.size()));
        return out;
    }

    public boolean readersHealthy() {
        return readers.stream().allMatch(TailReader::healthy);
    }

    public List<Map<String, Object>> readerStates() {
        return readers.stream().map(TailReader::state).toList();
    }

    /** Ends every stream cleanly ({@code event: close}, then the end of the response) so clients reconnect elsewhere. */
    public void closeAllStreams(String reason) {
        for (CompanyTail t : tails.values()) {
            for (Subscriber s : t.subscribers) {
                s.close(reason, false);
            }
        }
    }

    /** Ends the streams of one company ({@code event: close} with the reason), e.g. when its flag is switched off. */
    public int closeCompany(String companyId, String reason) {
        CompanyTail t = tails.get(companyId);
        if (t == null) {
            return 0;
        }
        int n = 0;
        for (Subscriber s : t.subscribers) {
            s.close(reason, false);
            n++;
        }
        return n;
    }

    /** Waits until no subscriber is left or the timeout passes. */
    public boolean awaitDrained(long timeout, TimeUnit unit) {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (!tails.isEmpty() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return tails.isEmpty();
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(ticker);
        closeAllStreams("shutdown");
        for (TailReader r : readers) {
            r.stop();
        }
        for (TailReader r : readers) {
            try {
                r.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                LOG.log(Level.FINE, "interrupted while stopping readers", e);
            }
        }
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
