package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class SubscriberTest {
    private static final int CAPACITY = 3;

    private static Update update(long ms) {
        return new Update("acme", new StreamEntryID(ms, 0), new byte[0]);
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
        assertThat(((Update) s.poll(0)).id()).isEqualTo(new StreamEntryID(10, 0));
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
        assertThat(s.poll(TimeUnit.MILLISECONDS.toNanos(1))).isEqualTo(new Subscriber.Closed("slow_consumer"));
        assertThat(s.offer(update(100))).as("offers after close are ignored").isTrue();
    }

    @Test
    void resetDropsQueuedEventsAndGoesFirst() throws Exception {
        Subscriber s = new Subscriber("acme", CAPACITY, null);
        s.finishReplay();
        s.offer(update(1));
        s.offerReset(new Subscriber.Reset("history_lost", "gone"));
        s.offer(update(2));
        assertThat(s.poll(0)).isInstanceOf(Subscriber.Reset.class);
        assertThat(((Update) s.poll(0)).id()).isEqualTo(new StreamEntryID(2, 0));
        assertThat(s.poll(TimeUnit.MILLISECONDS.toNanos(5))).as("times out empty").isNull();
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
        assertThat(s.offerAll(java.util.List.of(update(1), update(2)))).isTrue();
        assertThat(s.offerAll(java.util.List.of(update(3), update(4)))).as("4 > capacity 3").isFalse();
        assertThat(s.poll(0)).isEqualTo(new Subscriber.Closed("slow_consumer"));
    }
}
