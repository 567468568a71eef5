package io.csr.perf.replay;

/**
 * Order check of a resumed stream: events carry the publisher's sequence number; the first expected one is known
 * (the one after Last-Event-ID), so a missing head counts as a gap too. An event below the next expected one is a
 * repeat and is not counted as received.
 */
final class SequenceCheck {
    private long expected;
    private long received;
    private long gaps;
    private long repeats;

    /** {@code firstExpected} &lt; 0: take whatever comes first as the start (a fresh subscription). */
    SequenceCheck(long firstExpected) {
        this.expected = firstExpected;
    }

    /** Returns true when {@code seq} is new (received), false for a repeat. */
    boolean accept(long seq) {
        if (expected >= 0 && seq < expected) {
            repeats++;
            return false;
        }
        if (expected >= 0 && seq > expected) {
            gaps += seq - expected;
        }
        expected = seq + 1;
        received++;
        return true;
    }

    long received() {
        return received;
    }

    long gaps() {
        return gaps;
    }

    long repeats() {
        return repeats;
    }
}
