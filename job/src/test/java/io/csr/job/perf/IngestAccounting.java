package io.csr.job.perf;

import io.csr.job.testing.EventFixture;

import java.util.List;
import java.util.Locale;

/**
 * What {@code bench job} counts, apart from running it: the events a run must deliver, when it is complete, what it
 * lost, its events/s and its exit status. Only distinct valid events of the fixture count: a duplicate, a malformed
 * message or a probe is published and processed but is not an event the pipeline delivers, so it neither ends the
 * clock (the wait is on distinct events committed, and stray probes are left out) nor adds to the rate. A run that
 * timed out is a result too, marked {@code complete: false} with what it lost and no rate, and exits non-zero.
 */
final class IngestAccounting {
    private final long distinctValidEvents;
    private final long probesExpected;

    /**
     * @param fixture        the fixture's messages (duplicates and malformed ones included, probes not)
     * @param probesExpected probes that must arrive (the control run's new ids); 0 when they must all be dropped
     */
    IngestAccounting(List<EventFixture.Message> fixture, long probesExpected) {
        this.distinctValidEvents = fixture.stream().filter(EventFixture.Message::valid)
                .map(m -> m.companyId() + "/" + m.eventId()).distinct().count();
        this.probesExpected = probesExpected;
    }

    long distinctValidEvents() {
        return distinctValidEvents;
    }

    /**
     * Distinct fixture events and distinct probes committed, in that order, in one query: copies of a re-inserted
     * batch count once, and a probe that should have been dropped does not stand in for a missing event.
     */
    static String committedSql() {
        String probe = "user_id = '" + DedupStatePreload.PROBE_USER + "'";
        return "SELECT uniqExactIf(company_id, event_id, NOT " + probe + ") AS events, uniqExactIf(company_id, event_id, "
                + probe + ") AS probes FROM events";
    }

    /** Whether the wait for commits is over: every distinct valid event, and every probe that must arrive. */
    boolean allCommitted(long eventsCommitted, long probesCommitted) {
        return eventsCommitted >= distinctValidEvents && probesCommitted >= probesExpected;
    }

    Outcome outcome(long eventsCommitted, long probesCommitted, double seconds) {
        return new Outcome(allCommitted(eventsCommitted, probesCommitted), Math.max(0, distinctValidEvents - eventsCommitted),
                Math.max(0, probesExpected - probesCommitted), distinctValidEvents, seconds);
    }

    /**
     * The end of a run. {@code eventsPerSecond} is distinct valid events over the end-to-end time, null when the run is
     * incomplete (a rate over what happened to arrive would flatter a run that lost events).
     */
    record Outcome(boolean complete, long eventsLost, long probesLost, long distinctValidEvents, double seconds) {
        Double eventsPerSecond() {
            return complete ? distinctValidEvents / seconds : null;
        }

        /** The {@code lost} section of the result. */
        String lostJson(long maxMinutes) {
            return String.format(Locale.ROOT, "{\"eventsNotCommitted\": %d, \"probesNotCommitted\": %d, \"timedOut\": %s, \"maxMinutes\": %d}",
                    eventsLost, probesLost, !complete, maxMinutes);
        }

        /** 0 only for a complete run whose probes came out as they must. */
        int exitCode(boolean probesAsExpected) {
            return complete && probesAsExpected ? 0 : 1;
        }
    }
}
