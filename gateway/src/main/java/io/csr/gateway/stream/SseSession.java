package io.csr.gateway.stream;

import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one SSE connection, on the request's own (virtual) thread, after every status decision was made:
 * {@code retry}, then either the replay after the client's id or a {@code reset}, then live events from the
 * subscriber's buffer, deduplicated by id at the hand-over. Each wake-up drains the whole buffer, writes it and
 * flushes once, so every event leaves the server as soon as it is written. The writer waits without a timer; the
 * node's ticker wakes it for heartbeats, token expiry and the idle timeout. Ends at token expiry, idle timeout, eviction, shutdown or a failed write.
 */
final class SseSession {
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
    private StreamEntryID lastSent;
    private final long[] unflushedXadd = new long[MAX_UNFLUSHED];
    private int unflushed;

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
            lastSent = resume.from();
            replay(out);
        }
        out.flush();
        // live
        long now = clock.millis();
        nextHeartbeat = now + heartbeat.toMillis();
        lastEventAt = now;
        List<Subscriber.Item> batch = new ArrayList<>();
        FrameBody frames = out instanceof FrameBody f ? f : null;
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
                if (lastSent != null && u.id().compareTo(lastSent) <= 0) {
                    continue;
                }
                if (frames != null) {
                    frames.writeFrame(u);
                } else {
                    out.write(u.frame());
                }
                lastSent = u.id();
                StreamMetrics.delivered(stats, false);
                if (unflushed == MAX_UNFLUSHED) {
                    flush(out);
                }
                unflushedXadd[unflushed++] = u.xaddMillis();
                wrote = true;
            } else if (item instanceof Subscriber.Reset r) {
                out.write(SseFrames.reset(r.reason(), r.detail()));
                lastSent = null;
                wrote = true;
            }
        }
        if (wrote) {
            lastEventAt = clock.millis();
            flush(out);
        }
    }

    private void replay(OutputStream out) throws IOException {
        do {
            List<StreamEntry> page;
            do {
                page = hub.rangeAfter(companyId, lastSent, REPLAY_PAGE);
                for (StreamEntry e : page) {
                    lastSent = e.getID();
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
