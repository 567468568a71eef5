package io.csr.gateway.stream;

import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes one SSE connection, on the request's own (virtual) thread, after every status decision was made:
 * {@code retry}, then either the replay after the client's id or a {@code reset}, then live events from the
 * subscriber's buffer, deduplicated by id at the hand-over. Each wake-up drains the whole buffer, writes it and
 * flushes once, so every event leaves the server as soon as it is written. The writer waits without a timer; the
 * node's ticker wakes it for heartbeats, token expiry and the idle timeout. Ends at token expiry, idle timeout, eviction, shutdown or a failed write.
 *
 * <p>When the body has a socket of its own ({@link FrameBody#directSink}), the live writer lends it to the tail readers
 * while it waits ({@link Subscriber#writeDirectlyWhenIdle}): a live event then goes out on the reader's thread in one
 * non-blocking write ({@link #deliverNow}), deduplicated and counted as here, and this thread wakes only for what the
 * socket did not take, heartbeats, resets, deadlines and the end.
 */
final class SseSession implements Subscriber.DirectWriter {
    static final int REPLAY_PAGE = 500;
    private static final int MAX_UNFLUSHED = 16;

    private final StreamHub hub;
    private final StreamMetrics metrics;
    private final Subscriber sub;
    private final String companyId;
    private final StreamMetrics.CompanyStats stats;
    private final StreamHub.ResumeCheck resume;
    private final Duration heartbeat;
    private final Duration idleTimeout;
    private final Clock clock;
    /** Token expiry, epoch ms. */
    private final long expiry;
    /** When the next heartbeat is due and when the last event was written, epoch ms (live phase). */
    private long nextHeartbeat;
    private long lastEventAt;
    /**
     * The id of the last event written ({@code lastSentMs}-{@code lastSentSeq}), when {@code sentAny}. Kept as numbers,
     * not as the update's {@link StreamEntryID}: this session outlives young collections, and storing a young object
     * into an old one dirties a card that G1's refinement threads then scan — once per delivery on the reader's write
     * ({@link #deliverNow}), where nothing else of this session is stored.
     */
    private boolean sentAny;
    private long lastSentMs;
    private long lastSentSeq;
    private final long[] unflushedXadd = new long[MAX_UNFLUSHED];
    private int unflushed;
    /** The body's socket, lent to the tail readers while the live writer waits; null when it has none. */
    private DirectSink sink;

    SseSession(StreamHub hub, StreamMetrics metrics, Subscriber sub, StreamHub.ResumeCheck resume, Instant tokenExpiry,
               Duration heartbeat, Duration idleTimeout, Clock clock) {
        this.hub = hub;
        this.metrics = metrics;
        this.sub = sub;
        this.companyId = sub.companyId();
        this.stats = metrics.company(companyId);
        this.resume = resume;
        this.heartbeat = heartbeat;
        this.idleTimeout = idleTimeout;
        this.clock = clock;
        this.expiry = tokenExpiry.toEpochMilli();
    }

    /**
     * Returns why the stream ended. IOExceptions (client gone) end it too and propagate. The live loop is part of this
     * method rather than a method of its own: an idle stream's parked frames are kept on the heap, and each frame is
     * about 0.2 KiB per idle stream. What the loop does on each wake-up is in methods of their own
     * ({@link #dueBeforeWait}, {@link #deliver}): every stream stays inside this loop for its whole life, so the JIT can
     * only compile the loop on stack replacement, and each uncommon trap in it (a first heartbeat, a first reset, a
     * first failed write) sent every stream back to the interpreter until it was compiled again — 10 C2 compilations
     * of this method in a 1,000-connection fan-out bench, the compiler a fifth of the gateway's CPU while measuring.
     * A small method called per wake-up is compiled as usual and, when it is deoptimised, recompiled for its next call.
     */
    String run(OutputStream out) throws IOException, InterruptedException {
        out.write(SseFrames.retry());
        if (resume == null) {
            sub.finishReplay();
        } else if (!resume.replay()) {
            out.write(SseFrames.reset(resume.resetReason(), resume.resetDetail()));
            metrics.reset(companyId);
            sub.finishReplay();
        } else {
            metrics.replay(companyId);
            sent(resume.from());
            replay(out);
        }
        out.flush();
        // live
        long now = clock.millis();
        nextHeartbeat = now + heartbeat.toMillis();
        lastEventAt = now;
        List<Subscriber.Item> batch = new ArrayList<>();
        FrameBody frames = out instanceof FrameBody f ? f : null;
        sink = frames == null ? null : frames.directSink();
        if (sink != null) {
            sub.writeDirectlyWhenIdle(this);
        }
        while (true) {
            String end = dueBeforeWait(out);
            if (end != null) {
                return end;
            }
            batch.clear();
            Subscriber.Closed closed = sub.awaitItems(batch, nextDeadline());
            if (closed != null) {
                if (!"slow_consumer".equals(closed.reason())) {
                    out.write(SseFrames.close(closed.reason()));
                    flush(out);
                }
                return closed.reason();
            }
            deliver(out, frames, batch);
        }
    }

    /** Token expiry and idle timeout end the stream (their reason is returned); a due heartbeat is written. */
    private String dueBeforeWait(OutputStream out) throws IOException {
        long now = clock.millis();
        if (now >= expiry) {
            out.write(SseFrames.close("token_expired"));
            out.flush();
            return "token_expired";
        }
        if (now - lastEventAt >= idleTimeout.toMillis()) {
            out.write(SseFrames.close("idle_timeout"));
            out.flush();
            return "idle_timeout";
        }
        if (now >= nextHeartbeat) {
            out.write(SseFrames.HEARTBEAT);
            out.flush();
            nextHeartbeat = now + heartbeat.toMillis();
        }
        return null;
    }

    /** When the writer must wake without events: the next heartbeat, token expiry or idle timeout. */
    private long nextDeadline() {
        return Math.min(nextHeartbeat, Math.min(expiry, lastEventAt + idleTimeout.toMillis()));
    }

    /** Writes what one wake-up took from the buffer (events newer than the last sent, resets) and flushes once. */
    private void deliver(OutputStream out, FrameBody frames, List<Subscriber.Item> batch) throws IOException {
        boolean wrote = false;
        for (int i = 0, n = batch.size(); i < n; i++) {
            Subscriber.Item item = batch.get(i);
            if (item instanceof Update u) {
                if (alreadySent(u.id())) {
                    continue;
                }
                if (frames != null) {
                    frames.writeFrame(u);
                } else {
                    out.write(u.frame());
                }
                sent(u.id());
                StreamMetrics.delivered(stats, false);
                if (unflushed == MAX_UNFLUSHED) {
                    flush(out);
                }
                unflushedXadd[unflushed++] = u.xaddMillis();
                wrote = true;
            } else if (item instanceof Subscriber.Reset r) {
                out.write(SseFrames.reset(r.reason(), r.detail()));
                sentAny = false;
                wrote = true;
            } else if (item instanceof Subscriber.Unsent rest) {
                // first in the batch: the rest of chunks a reader began on the socket, before anything else goes out
                if (rest.failure() != null) {
                    throw rest.failure();
                }
                frames.writeRaw(rest.bytes());
                for (long xadd : rest.xaddMillis()) {
                    if (unflushed == MAX_UNFLUSHED) {
                        flush(out);
                    }
                    unflushedXadd[unflushed++] = xadd;
                }
                wrote = true;
            }
        }
        if (wrote) {
            lastEventAt = clock.millis();
            flush(out);
        }
    }

    /**
     * A tail reader's delivery while this writer waits with nothing queued, under the subscriber's lock (which orders
     * it with this writer's own use of the last id sent, {@code lastEventAt} and the socket): the events newer than the
     * last written, in one non-blocking write of their shared HTTP chunks. Null when the socket took all of it; else
     * what is left, which this writer writes first when it wakes.
     */
    @Override
    public Subscriber.Unsent deliverNow(List<Update> updates) {
        int n = updates.size();
        // one event (the common case): its chunk alone, in a buffer of this call, so that nothing young is stored in
        // this long-lived session per delivery (see sentAny)
        ByteBuffer single = null;
        ByteBuffer[] chunks = null;
        int k = 0;
        long total = 0;
        for (int i = 0; i < n; i++) {
            Update u = updates.get(i);
            if (alreadySent(u.id())) {
                continue; // ids ascend: the skipped ones come first, the k written are the last k
            }
            byte[] chunk = u.httpChunk() != null ? u.httpChunk() : u.withHttpChunk().httpChunk();
            ByteBuffer b = ByteBuffer.wrap(chunk);
            if (n == 1) {
                single = b;
            } else {
                if (chunks == null) {
                    chunks = new ByteBuffer[n - i];
                }
                chunks[k] = b;
            }
            k++;
            total += chunk.length;
            sent(u.id());
        }
        if (k == 0) {
            return null;
        }
        long written;
        try {
            written = single != null ? sink.tryWrite(single) : sink.tryWrite(k == chunks.length ? chunks : Arrays.copyOf(chunks, k));
        } catch (IOException e) {
            return new Subscriber.Unsent(null, null, e);
        }
        long now = clock.millis();
        lastEventAt = now;
        for (int i = 0; i < k; i++) {
            StreamMetrics.delivered(stats, false);
        }
        metrics.readerWrote(written != total);
        if (written == total) {
            for (int i = n - k; i < n; i++) {
                metrics.latency().observe(now - updates.get(i).xaddMillis());
            }
            return null;
        }
        byte[] rest = new byte[Math.toIntExact(total - written)];
        int at = 0;
        long[] xadds = new long[k];
        for (int i = 0; i < k; i++) {
            xadds[i] = updates.get(n - k + i).xaddMillis();
            ByteBuffer b = single != null ? single : chunks[i];
            int r = b.remaining();
            b.get(rest, at, r);
            at += r;
        }
        return new Subscriber.Unsent(rest, xadds, null);
    }

    /** Whether the event {@code id} was written already (ids ascend per company): the overlap of replay and live feed. */
    private boolean alreadySent(StreamEntryID id) {
        if (!sentAny) {
            return false;
        }
        int c = Long.compare(id.getTime(), lastSentMs);
        return c < 0 || c == 0 && Long.compare(id.getSequence(), lastSentSeq) <= 0;
    }

    private void sent(StreamEntryID id) {
        lastSentMs = id.getTime();
        lastSentSeq = id.getSequence();
        sentAny = true;
    }

    @Override
    public boolean lend() {
        try {
            sink.nonBlocking(true);
            return true;
        } catch (IOException e) {
            return false; // closed: this writer finds out on its next write
        }
    }

    @Override
    public void reclaim() {
        try {
            sink.nonBlocking(false);
        } catch (IOException e) {
            // closed: this writer finds out on its next write
        }
    }

    private void replay(OutputStream out) throws IOException {
        do {
            List<StreamEntry> page;
            do {
                page = hub.rangeAfter(companyId, new StreamEntryID(lastSentMs, lastSentSeq), REPLAY_PAGE);
                for (StreamEntry e : page) {
                    sent(e.getID());
                    Update u = SseFrames.toUpdate(companyId, e);
                    if (u != null) {
                        out.write(u.frame());
                        StreamMetrics.delivered(stats, true);
                    }
                }
                if (!page.isEmpty()) {
                    out.flush();
                }
            } while (page.size() == REPLAY_PAGE);
        } while (!sub.finishReplay());
    }

    private void flush(OutputStream out) throws IOException {
        out.flush();
        long now = clock.millis();
        for (int i = 0; i < unflushed; i++) {
            metrics.latency().observe(now - unflushedXadd[i]);
        }
        unflushed = 0;
    }
}
