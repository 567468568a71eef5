package io.csr.job.cluster.node;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until it holds, failing early when the process that should make it hold has died. */
final class Await {
    private Await() {
    }

    static void until(BooleanSupplier condition, Duration timeout, BooleanSupplier stillAlive, Supplier<String> whyNot)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (!stillAlive.getAsBoolean()) {
                throw new IllegalStateException(whyNot.get() + " (the process exited)");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(whyNot.get() + " (not within " + timeout.toSeconds() + " s)");
            }
            Thread.sleep(200);
        }
    }
}
