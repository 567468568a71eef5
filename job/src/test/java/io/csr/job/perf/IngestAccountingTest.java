package io.csr.job.perf;

import io.csr.job.testing.EventFixture;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** bench job's accounting: only distinct valid events end the wait and make the rate; a timed-out run is a failure. */
class IngestAccountingTest {
    /** Five messages, three distinct valid events: a duplicate and a malformed message are published but not delivered. */
    private static final List<EventFixture.Message> FIXTURE = List.of(
            message("co-1", "e1", true, false),
            message("co-1", "e2", true, false),
            message("co-2", "e1", true, false),
            message("co-1", "e1", true, true),
            message("co-1", null, false, false));

    private static EventFixture.Message message(String company, String eventId, boolean valid, boolean duplicate) {
        return new EventFixture.Message("metrics.sroi", "{}", company, eventId, valid ? "sroi" : null, 0, 1, valid, duplicate);
    }

    @Test
    void onlyDistinctValidEventsAreExpected() {
        assertThat(new IngestAccounting(FIXTURE, 0).distinctValidEvents()).isEqualTo(3);
    }

    @Test
    void theWaitEndsOnDistinctEventsAndRequiredProbesOnly() {
        IngestAccounting dropRun = new IngestAccounting(FIXTURE, 0);
        assertThat(dropRun.allCommitted(2, 0)).isFalse();
        assertThat(dropRun.allCommitted(2, 1_000)).as("probes that slipped through stand in for no missing event").isFalse();
        assertThat(dropRun.allCommitted(3, 0)).isTrue();

        IngestAccounting controlRun = new IngestAccounting(FIXTURE, 2);
        assertThat(controlRun.allCommitted(3, 1)).as("a control probe still missing").isFalse();
        assertThat(controlRun.allCommitted(3, 2)).isTrue();
    }

    @Test
    void aCompleteRunsRateCountsDistinctValidEventsOnly() {
        IngestAccounting.Outcome outcome = new IngestAccounting(FIXTURE, 2).outcome(3, 2, 1.5);
        assertThat(outcome.complete()).isTrue();
        assertThat(outcome.eventsPerSecond()).as("3 distinct valid events in 1.5 s, not 5 messages nor the 2 probes").isEqualTo(2.0);
        assertThat(outcome.exitCode(true)).isZero();
        assertThat(outcome.exitCode(false)).as("probes that reached ClickHouse when they should not").isEqualTo(1);
        assertThat(outcome.lostJson(15)).isEqualTo("{\"eventsNotCommitted\": 0, \"probesNotCommitted\": 0, \"timedOut\": false, \"maxMinutes\": 15}");
    }

    @Test
    void aTimedOutRunIsIncompleteSaysWhatItLostHasNoRateAndFails() {
        IngestAccounting.Outcome outcome = new IngestAccounting(FIXTURE, 2).outcome(2, 1, 900);
        assertThat(outcome.complete()).isFalse();
        assertThat(outcome.eventsPerSecond()).isNull();
        assertThat(outcome.lostJson(15)).isEqualTo("{\"eventsNotCommitted\": 1, \"probesNotCommitted\": 1, \"timedOut\": true, \"maxMinutes\": 15}");
        assertThat(outcome.exitCode(true)).isEqualTo(1);
    }
}
