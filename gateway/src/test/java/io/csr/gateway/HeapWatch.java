package io.csr.gateway;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/**
 * Samples this JVM's live heap (used after a full GC) every 25 ms (or a chosen interval) from {@link #start} to {@link #close}:
 * {@link #maxGrowth} is the highest reading minus the reading at the start. The gateway under test runs in the same
 * JVM, so a request that holds a large body shows up here, while the garbage of bodies streamed through and dropped
 * does not (reading plain used heap would count that churn too, up to the young generation's size).
 */
public final class HeapWatch implements AutoCloseable {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private final long baseline;
    private final long intervalMillis;
    private volatile long max;
    private volatile boolean running = true;
    private final Thread sampler;

    private HeapWatch(long intervalMillis) {
        this.intervalMillis = intervalMillis;
        System.gc();
        baseline = used();
        max = baseline;
        sampler = Thread.ofPlatform().daemon().name("heap-watch").start(() -> {
            while (running) {
                System.gc();
                long u = used();
                if (u > max) {
                    max = u;
                }
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    public static HeapWatch start() {
        return new HeapWatch(25);
    }

    /** Sampling every {@code intervalMillis} (each sample is a full GC: longer runs take fewer). */
    public static HeapWatch every(long intervalMillis) {
        return new HeapWatch(intervalMillis);
    }

    private static long used() {
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    /** Highest used heap seen minus the baseline, bytes. */
    public long maxGrowth() {
        return Math.max(0, max - baseline);
    }

    @Override
    public void close() {
        running = false;
        try {
            sampler.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
