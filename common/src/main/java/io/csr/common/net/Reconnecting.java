package io.csr.common.net;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.ThreadFactory;
import java.util.function.LongSupplier;

/**
 * A connection kept as {@code EventSource} keeps its stream: connect and read until the connection ends, wait, connect
 * again, until {@link #stop}. One thread per connection (a virtual one is cheap). An attempt that fails with an
 * {@link IOException} (the server went away mid-stream or refused the connection, or {@link #stop} closed it) waits
 * what {@code afterFailure} says; one that ends normally waits what it returns.
 */
public final class Reconnecting {
    /** One connection, read until it ends. */
    @FunctionalInterface
    public interface Attempt {
        /** Connects and reads until the connection ends; how many milliseconds to wait before the next one. */
        long connectAndRead() throws IOException, InterruptedException;
    }

    private final Attempt attempt;
    private final LongSupplier afterFailure;
    private final Thread thread;
    private volatile boolean running = true;

    /** Starts connecting on a thread of {@code threads}. */
    public Reconnecting(ThreadFactory threads, Attempt attempt, LongSupplier afterFailure) {
        this.attempt = attempt;
        this.afterFailure = afterFailure;
        this.thread = threads.newThread(this::loop);
        thread.start();
    }

    private void loop() {
        while (running) {
            long waitMillis;
            try {
                waitMillis = attempt.connectAndRead();
            } catch (IOException e) {
                waitMillis = afterFailure.getAsLong(); // reconnect after the retry
            } catch (InterruptedException e) {
                return;
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(waitMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** No attempt after this one: {@code current} (what the attempt reads, may be null) is closed, so a blocked read ends. */
    public void stop(Closeable current) {
        running = false;
        if (current != null) {
            try {
                current.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        thread.interrupt();
    }
}
