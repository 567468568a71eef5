package io.csr.gateway.stream;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * One SSE connection's bounded buffer between the Redis tail readers (producers) and the connection's own writer
 * thread (consumer). While the connection replays history, an overflow only drops the buffer and asks the writer
 * to catch up again from Redis; once live, an overflow evicts the connection (its writer thread is interrupted,
 * which also unblocks a write stuck on a client that stopped reading). The client then resumes by id.
 *
 * <p>A live writer with a socket of its own ({@link #writeDirectlyWhenIdle}) lends it to the readers while it is
 * parked with nothing queued: a reader then writes the events itself, without blocking ({@link DirectWriter}), and
 * wakes the writer only when the socket did not take all of it ({@link Unsent}, queued first) or failed. Without that,
 * every delivery woke the writer's virtual thread (unpark, a carrier scheduled, the stack thawed and frozen again)
 * for one socket write. Only one of them writes at a time: the reader under this lock while the socket is lent, the
 * writer after it took the socket back under this lock; the queue, its bound and eviction are as before.
 */
public final class Subscriber {
    /** What the writer takes from the buffer. */
    public sealed interface Item permits Update, Reset, Closed, Unsent {
    }

    /**
     * A reader's direct write that the socket did not take whole: {@code bytes} (the rest of the HTTP chunks begun on the
     * socket, to be written as they are before anything else) with the XADD times of the events in them, or the
     * write's {@code failure} (the client is gone).
     */
    public record Unsent(byte[] bytes, long[] xaddMillis, java.io.IOException failure) implements Item {
    }

    /** The writer's side of writing live events directly ({@link #writeDirectlyWhenIdle}). */
    interface DirectWriter {
        /**
         * Called by a reader under the subscriber's lock while the socket is lent: writes the events (those newer than
         * the last written) without blocking; null when all of it was written, else what is left for the writer.
         */
        Unsent deliverNow(List<Update> updates);

        /** Called by the writer before it lends the socket: non-blocking mode; false when the socket cannot be lent. */
        boolean lend();

        /** Called by the writer when it takes the socket back: blocking mode again. */
        void reclaim();
    }

    /** History of the company's stream was lost (stream deleted, Redis restarted without it): tell the client. */
    public record Reset(String reason, String detail) implements Item {
    }

    /** The connection must end; {@code reason} is e.g. {@code slow_consumer} or {@code shutdown}. */
    public record Closed(String reason) implements Item {
    }

    private final String companyId;
    private final int capacity;
    private final Thread writer;
    /**
     * Guards everything below; a monitor rather than a {@code ReentrantLock}: a reader takes it once per delivery, and
     * the lock's owner field is a reference stored into this long-lived object on every acquisition — a dirty card for
     * G1's refinement threads per delivery (a monitor stores no reference into the object). JDK 24+ virtual threads do
     * not pin on monitors, and nothing parks while holding it.
     */
    private final Object lock = new Object();
    private final ArrayDeque<Item> queue = new ArrayDeque<>(4);
    private boolean replaying = true;
    private boolean overflowed;
    private Closed closed;
    private boolean writerDone;
    private boolean ticked;
    /** Set once live by a writer that has a socket of its own; the socket is lent while {@code lent}. */
    private DirectWriter direct;
    private boolean lent;
    /** The writer's: the socket is in non-blocking mode (lent now, or lent until a reader left something unsent). */
    private boolean released;
    /** When the writer next has something to do without events (heartbeat, token expiry, idle timeout), epoch ms. */
    private volatile long deadlineMillis = Long.MAX_VALUE;
    /** Where the ticker learns of {@link #deadlineMillis} (null: nowhere, {@link #tickIfDue} only), and the entry it holds. */
    private final Deadlines deadlines;
    private long scheduledAt = Long.MAX_VALUE;
    /**
     * The writer parked in {@link #awaitItems}, woken with {@link LockSupport#unpark} rather than a {@code Condition}:
     * an idle connection's parked virtual thread is frozen into a heap stack chunk, and a condition wait puts four
     * more frames on that stack (plus a node per wait). Measured at 5,000 idle streams: 6.8 → 5.4 KiB of stack chunk
     * per stream.
     */
    private volatile Thread waiter;

    /** A subscriber no ticker visits: a test wakes its writer with {@link #tickIfDue}. */
    Subscriber(String companyId, int capacity, Thread writer) {
        this(companyId, capacity, writer, null);
    }

    /** A subscriber whose writer's deadlines go to the node's ticker through {@code deadlines}. */
    Subscriber(String companyId, int capacity, Thread writer, Deadlines deadlines) {
        this.companyId = companyId;
        this.capacity = capacity;
        this.writer = writer;
        this.deadlines = deadlines;
    }

    public String companyId() {
        return companyId;
    }

    /** One update, as a batch of one ({@link #offerAll}); false when it evicted the subscriber (buffer full while live). */
    public boolean offer(Update update) {
        return offerAll(List.of(update));
    }

    /**
     * Called by a reader with the entries one XREAD returned for this company: one lock and one wake-up per batch.
     * Returns false when the batch evicted the subscriber.
     */
    public boolean offerAll(List<Update> updates) {
        synchronized (lock) {
            if (closed != null) {
                return true;
            }
            if (lent && queue.isEmpty()) {
                Unsent unsent = direct.deliverNow(updates);
                if (unsent == null) {
                    return true; // written: the writer sleeps on
                }
                lent = false;
                queue.addLast(unsent);
                wake();
                return true;
            }
            for (Update update : updates) {
                if (queue.size() >= capacity) {
                    if (replaying) {
                        overflowed = true;
                        queue.clear();
                        continue;
                    }
                    closeLocked(new Closed("slow_consumer"), true);
                    return false;
                }
                queue.addLast(update);
            }
            wake();
            return true;
        }
    }

    /** History was lost: queued events are dropped and the reset goes first. */
    public void offerReset(Reset reset) {
        synchronized (lock) {
            if (closed != null) {
                return;
            }
            queue.clear();
            overflowed = false;
            queue.addLast(reset);
            wake();
        }
    }

    /** Ends the connection; {@code interrupt} also breaks a write blocked on a socket the client does not read. */
    public void close(String reason, boolean interrupt) {
        synchronized (lock) {
            closeLocked(new Closed(reason), interrupt);
        }
    }

    private void closeLocked(Closed c, boolean interrupt) {
        if (closed != null) {
            return;
        }
        closed = c;
        queue.clear();
        wake();
        if (interrupt && !writerDone && writer != null) {
            writer.interrupt();
        }
    }

    /**
     * Writer side: ends the replay phase unless the buffer overflowed meanwhile. When it did, the buffer is cleared
     * and false is returned: the writer must read Redis again from its last written id (nothing is lost).
     */
    public boolean finishReplay() {
        synchronized (lock) {
            if (overflowed) {
                overflowed = false;
                queue.clear();
                return false;
            }
            replaying = false;
            return true;
        }
    }

    /**
     * Writer side, once live: from now on the socket is lent to the readers whenever this writer waits with nothing
     * queued ({@link DirectWriter}).
     */
    void writeDirectlyWhenIdle(DirectWriter writer) {
        synchronized (lock) {
            direct = writer;
        }
    }

    /**
     * Writer side: waits (untimed: no timer per wait) until events are queued, the node's ticker says the writer's
     * {@code deadlineMillis} has passed, or the subscriber is closed. Queued items are moved into {@code out} in one
     * lock acquisition. Returns the {@link Closed} item once closed, else null.
     */
    public Closed awaitItems(List<Item> out, long deadlineMillis) throws InterruptedException {
        this.deadlineMillis = deadlineMillis;
        waiter = Thread.currentThread();
        try {
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                synchronized (lock) {
                    if (closed != null || !queue.isEmpty() || ticked) {
                        ticked = false;
                        lent = false;
                        if (closed != null) {
                            return closed;
                        }
                        for (Item item; (item = queue.pollFirst()) != null; ) {
                            out.add(item);
                        }
                        return null;
                    }
                    scheduleDeadline();
                    if (direct != null && !lent && !replaying) {
                        // lent under the lock, after the socket is non-blocking: a reader never writes in blocking mode
                        released = released || direct.lend();
                        lent = released;
                    }
                }
                // a wake() after the check above left a permit, so this returns at once: no lost wake-up
                LockSupport.park(this);
            }
        } finally {
            waiter = null;
            takeBack();
        }
    }

    /** The writer takes the socket back (no reader writes to it after this) in blocking mode. */
    private void takeBack() {
        if (!released) {
            return;
        }
        synchronized (lock) {
            lent = false;
        }
        released = false;
        direct.reclaim();
    }

    /** Unparks the writer if it waits in {@link #awaitItems}; called after the state it waits for was changed under the lock. */
    private void wake() {
        Thread w = waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /**
     * Under the lock: gives the ticker the writer's deadline unless it holds an entry at or before it already (an earlier
     * entry, when it comes, schedules the later deadline then: {@link #deadlineCame}).
     */
    private void scheduleDeadline() {
        long d = deadlineMillis;
        if (deadlines != null && d < scheduledAt) {
            scheduledAt = d;
            deadlines.add(d, this);
        }
    }

    /**
     * Called by the node's ticker when this subscriber's entry for {@code atMillis} came due: wakes the writer when its
     * deadline has passed, else (the deadline moved later meanwhile) schedules it. An entry superseded by an earlier
     * one is ignored.
     */
    void deadlineCame(long atMillis, long nowMillis) {
        synchronized (lock) {
            if (atMillis != scheduledAt) {
                return;
            }
            scheduledAt = Long.MAX_VALUE;
            if (nowMillis >= deadlineMillis) {
                ticked = true;
                wake();
            } else if (closed == null) {
                scheduleDeadline();
            }
        }
    }

    /**
     * Wakes the writer when its deadline has passed, as the node's ticker does through {@link #deadlineCame}: for a test
     * driving a subscriber without a ticker.
     */
    void tickIfDue(long nowMillis) {
        if (nowMillis < deadlineMillis) {
            return;
        }
        synchronized (lock) {
            ticked = true;
            wake();
        }
    }

    public Closed closedReason() {
        synchronized (lock) {
            return closed;
        }
    }

    /** Writer side, on exit: no interrupt may reach the thread after this (it goes back to serving the connection). */
    public void writerDone() {
        synchronized (lock) {
            writerDone = true;
            if (closed == null) {
                closed = new Closed("done");
            }
        }
        Thread.interrupted();
    }

    int queued() {
        synchronized (lock) {
            return queue.size();
        }
    }

    boolean isReplaying() {
        synchronized (lock) {
            return replaying;
        }
    }
}
