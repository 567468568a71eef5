package io.csr.common.net;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class ReconnectingTest {
    private final AtomicReference<Thread> thread = new AtomicReference<>();
    private final ThreadFactory threads = r -> {
        Thread t = new Thread(r, "reconnecting-test");
        t.setDaemon(true);
        thread.set(t);
        return t;
    };

    @Test
    void aFailedAttemptWaitsTheFailureRetryAnEndedOneItsOwnAndItGoesOnUntilStopped() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        CountDownLatch three = new CountDownLatch(3);
        Reconnecting r = new Reconnecting(threads, () -> {
            seen.add("attempt");
            three.countDown();
            if (seen.size() == 1) {
                throw new IOException("refused");
            }
            return 1;
        }, () -> {
            seen.add("after failure");
            return 1;
        });
        assertThat(three.await(10, TimeUnit.SECONDS)).as("connects again after a failure and after an end").isTrue();
        r.stop(null);
        thread.get().join(10_000);
        assertThat(thread.get().isAlive()).isFalse();
        assertThat(seen.subList(0, 4)).containsExactly("attempt", "after failure", "attempt", "attempt");
        assertThat(seen.stream().filter("after failure"::equals)).as("only the refused attempt waits the failure retry").hasSize(1);
    }

    @Test
    void stopEndsABlockedReadAndNoAttemptFollows() throws Exception {
        PipedInputStream in = new PipedInputStream(new PipedOutputStream());
        List<String> seen = new CopyOnWriteArrayList<>();
        CountDownLatch reading = new CountDownLatch(1);
        Reconnecting r = new Reconnecting(threads, () -> {
            seen.add("attempt");
            reading.countDown();
            in.read(); // nothing is ever written
            return 0;
        }, () -> 0);
        assertThat(reading.await(10, TimeUnit.SECONDS)).isTrue();
        r.stop(in);
        thread.get().join(10_000);
        assertThat(thread.get().isAlive()).as("the loop ended").isFalse();
        assertThat(seen).containsExactly("attempt");
    }
}
