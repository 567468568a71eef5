package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SubscriberTest {
    private static final int CAPACITY = 3;

    private static Update update(long ms) {
        return new Update("acme", new StreamEntryID(ms, 0), new byte[0]);
    }

    /** What a writer would take now: a tick first, so an empty buffer does not block the test. */
    private static List<Object> drain(Subscriber s) throws InterruptedException {
        s.tickIfDue(Long.MAX_VALUE - 1);
        List<Subscriber.Item> items = new ArrayList<>();
        Subscriber.Closed closed = s.awaitItems(items, 0);
        List<Object> out = new ArrayList<>();
        for (Subscriber.Item i : items) {
            out.add(i instanceof Update u ? u.id() : i);
        }
        if (closed != null) {
            out.add(closed);
        }
        return out;
    }

    /** A writer waiting in {@link Subscriber#awaitItems} in a thread of its own, taking into {@code items}. */
    private static Thread waiting(Subscriber s, long deadline, List<Subscriber.Item> items) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                s.awaitItems(items, deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Waits until {@code deadlines} holds {@code n} entries (the writer scheduled its deadline before parking). */
    private static void awaitEntries(Deadlines deadlines, int n) throws InterruptedException {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (deadlines.size() != n && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertThat(deadlines.size()).isEqualTo(n);
    }

    /** Waits until {@code writer} is parked in {@link Subscriber#awaitItems} (it has scheduled what it would). */
    private static void awaitParked(Thread writer) {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (writer.getState() != Thread.State.WAITING && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertThat(writer.getState()).isEqualTo(Thread.State.WAITING);
    }

    @Test
    void theTickerVisitsAWriterOnlyWhenItsDeadlineComes() throws Exception {
        Deadlines deadlines = new Deadlines();
        Subscriber s = new Subscriber("acme", CAPACITY, null, deadlines);
        s.finishReplay();
        Thread writer = waiting(s, 1_000, new ArrayList<>());
        awaitEntries(deadlines, 1);
        assertThat(deadlines.takeDue(999)).as("not due yet: nothing to visit").isEmpty();
        List<Deadlines.Due> due = deadlines.takeDue(1_000);
        assertThat(due).extracting(Deadlines.Due::atMillis).containsExactly(1_000L);
        due.get(0).subscriber().deadlineCame(1_000, 1_000);
        writer.join(10_000);
        assertThat(writer.isAlive()).as("woken by its deadline").isFalse();
    }

    @Test
    void aDeadlineMovedLaterIsScheduledWhenTheEarlierEntryComes() throws Exception {
        Deadlines deadlines = new Deadlines();
        Subscriber s = new Subscriber("acme", CAPACITY, null, deadlines);
        s.finishReplay();
        List<Subscriber.Item> items = new ArrayList<>();
        Thread writer = waiting(s, 1_000, items);
        awaitEntries(deadlines, 1);
        s.offer(update(1)); // the writer wakes for an event before its deadline ...
        writer.join(10_000);
        assertThat(items).hasSize(1);
        writer = waiting(s, 2_000, new ArrayList<>()); // ... and waits again, with a later deadline
        awaitParked(writer);
        assertThat(deadlines.size()).as("the entry at 1,000 still stands for it").isEqualTo(1);
        for (Deadlines.Due d : deadlines.takeDue(1_000)) {
            d.subscriber().deadlineCame(d.atMillis(), 1_000);
        }
        assertThat(writer.isAlive()).as("1,000 is not its deadline any more").isTrue();
        List<Deadlines.Due> due = deadlines.takeDue(2_000);
        assertThat(due).as("rescheduled at its deadline").extracting(Deadlines.Due::atMillis).containsExactly(2_000L);
        due.get(0).subscriber().deadlineCame(2_000, 2_000);
        writer.join(10_000);
        assertThat(writer.isAlive()).as("woken at 2,000").isFalse();
    }

    /**
     * Readers offer on their own threads while the writer takes: every update arrives exactly once and in each reader's
     * order (the subscriber's monitor is all that orders the readers' queue appends with the writer's takes).
     */
    @Test
    void concurrentReadersLoseNothingAndRepeatNothing() throws Exception {
        int readers = 4;
        int perReader = 20_000;
        List<Subscriber.Item> got = new ArrayList<>();
        Subscriber[] sub = new Subscriber[1];
        Thread writer = Thread.ofPlatform().daemon().unstarted(() -> {
            try {
                while (got.size() < readers * perReader && sub[0].awaitItems(got, Long.MAX_VALUE) == null) {
                    // each wake-up takes everything queued
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        sub[0] = new Subscriber("acme", readers * perReader, writer);
        sub[0].finishReplay();
        writer.start();
        List<Thread> offering = new ArrayList<>();
        for (int r = 0; r < readers; r++) {
            int reader = r;
            offering.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perReader; i++) {
                    sub[0].offer(new Update("acme", new StreamEntryID(reader, i), new byte[0]));
                }
            }));
        }
        for (Thread t : offering) {
            t.join();
        }
        writer.join(30_000);
        assertThat(writer.isAlive()).as("the writer got every update").isFalse();
        assertThat(got).hasSize(readers * perReader);
        long[] next = new long[readers];
        for (Subscriber.Item item : got) {
            StreamEntryID id = ((Update) item).id();
            assertThat(id.getSequence()).as("reader %d's updates in order, none lost or repeated", id.getTime()).isEqualTo(next[(int) id.getTime()]++);
        }
    }

    @Test
    void overflowWhileReplayingAsksForAnotherCatchUpInsteadOfEvicting() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        for (int i = 1; i <= CAPACITY + 1; i++) {
            assertThat(s.offer(update(i))).isTrue();
        }
        assertThat(s.queued()).isZero();
        assertThat(s.finishReplay()).as("overflowed: read Redis again").isFalse();
        assertThat(s.isReplaying()).isTrue();
        s.offer(update(10));
        assertThat(s.finishReplay()).isTrue();
        assertThat(drain(s)).containsExactly(new StreamEntryID(10, 0));
    }

    @Test
    void overflowWhileLiveEvictsAndInterruptsTheWriter() throws Exception {
        Thread writer = Thread.ofVirtual().unstarted(() -> { });
        Subscriber s = new Subscriber("acme", CAPACITY, writer);
        s.finishReplay();
        for (int i = 1; i <= CAPACITY; i++) {
            assertThat(s.offer(update(i))).isTrue();
        }
        assertThat(s.offer(update(99))).as("the 4th event evicts").isFalse();
        assertThat(writer.isInterrupted()).isTrue();
        assertThat(drain(s)).containsExactly(new Subscriber.Closed("slow_consumer"));
        assertThat(s.offer(update(100))).as("offers after close are ignored").isTrue();
    }

    @Test
    void resetDropsQueuedEventsAndGoesFirst() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        s.finishReplay();
        s.offer(update(1));
        s.offerReset(new Subscriber.Reset("history_lost", "gone"));
        s.offer(update(2));
        assertThat(drain(s)).containsExactly(new Subscriber.Reset("history_lost", "gone"), new StreamEntryID(2, 0));
        assertThat(drain(s)).as("a tick with nothing queued returns empty").isEmpty();
    }

    @Test
    void tickerWakesTheWriterOnlyOnceItsDeadlinePassed() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        s.finishReplay();
        List<Subscriber.Item> items = new ArrayList<>();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                s.awaitItems(items, 1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        org.awaitility.Awaitility.await().until(() -> writer.getState() == Thread.State.WAITING);
        s.tickIfDue(999);
        writer.join(200);
        assertThat(writer.isAlive()).as("not due yet").isTrue();
        s.tickIfDue(1_000);
        writer.join(5_000);
        assertThat(writer.isAlive()).isFalse();
        assertThat(items).isEmpty();
    }

    @Test
    void noInterruptReachesTheThreadAfterTheWriterIsDone() {
        Thread writer = Thread.ofVirtual().unstarted(() -> { });
        Subscriber s = new Subscriber("acme", 1, writer);
        s.finishReplay();
        s.writerDone();
        s.close("slow_consumer", true);
        assertThat(writer.isInterrupted()).isFalse();
    }

    @Test
    void batchOfferEvictsWhenTheBatchDoesNotFitWhileLive() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        s.finishReplay();
        assertThat(s.offerAll(List.of(update(1), update(2)))).isTrue();
        assertThat(s.offerAll(List.of(update(3), update(4)))).as("4 > capacity 3").isFalse();
        assertThat(drain(s)).containsExactly(new Subscriber.Closed("slow_consumer"));
    }

    /** A stream's side of the readers' direct writes: records what it is asked, leaves {@code unsentNext} unsent once. */
    private static final class FakeDirect implements Subscriber.DirectWriter {
        final List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<StreamEntryID> written = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile Subscriber.Unsent unsentNext;

        @Override
        public Subscriber.Unsent deliverNow(List<Update> updates) {
            calls.add("deliver");
            updates.forEach(u -> written.add(u.id()));
            Subscriber.Unsent u = unsentNext;
            unsentNext = null;
            return u;
        }

        @Override
        public boolean lend() {
            calls.add("lend");
            return true;
        }

        @Override
        public void reclaim() {
            calls.add("reclaim");
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aWaitingLiveWriterLendsItsSocketAndReadersWriteWithoutWakingIt() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        FakeDirect direct = new FakeDirect();
        s.writeDirectlyWhenIdle(direct);
        s.offer(update(1));
        assertThat(direct.calls).as("replaying: no lending").isEmpty();
        s.finishReplay();
        List<Subscriber.Item> items = new java.util.concurrent.CopyOnWriteArrayList<>();
        Subscriber.Unsent rest = new Subscriber.Unsent(new byte[] {1}, new long[] {3}, null);
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                s.awaitItems(items, Long.MAX_VALUE);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        // queued before the writer waited: taken by the writer itself, no lending while something is queued
        org.awaitility.Awaitility.await().until(() -> !writer.isAlive());
        assertThat(items).hasSize(1);
        assertThat(direct.calls).isEmpty();

        items.clear();
        Thread waiting = Thread.ofVirtual().start(() -> {
            try {
                s.awaitItems(items, Long.MAX_VALUE);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        org.awaitility.Awaitility.await().until(() -> direct.calls.contains("lend") && waiting.getState() == Thread.State.WAITING);
        s.offerAll(List.of(update(2)));
        s.offerAll(List.of(update(3)));
        waiting.join(300);
        assertThat(waiting.isAlive()).as("written by the reader: the writer sleeps on").isTrue();
        assertThat(direct.written).containsExactly(new StreamEntryID(2, 0), new StreamEntryID(3, 0));
        assertThat(items).isEmpty();

        direct.unsentNext = rest;
        s.offerAll(List.of(update(4)));
        waiting.join(5_000);
        assertThat(waiting.isAlive()).as("woken for what the socket did not take").isFalse();
        assertThat(items).as("the rest, for the writer").containsExactly(rest);
        s.offerAll(List.of(update(5))); // the socket is the writer's again: queued
        assertThat(drain(s)).containsExactly(new StreamEntryID(5, 0));
        assertThat(direct.written).containsExactly(new StreamEntryID(2, 0), new StreamEntryID(3, 0), new StreamEntryID(4, 0));
        assertThat(direct.calls).containsExactly("lend", "deliver", "deliver", "deliver", "reclaim");
    }
}
