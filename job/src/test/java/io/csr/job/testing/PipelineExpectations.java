package io.csr.job.testing;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseAccessException;
import io.csr.common.verify.ExactlyOnceCheck;
import org.awaitility.core.ConditionTimeoutException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What ClickHouse must hold after the job processed a set of published {@link EventFixture} messages: the fixture's
 * messages handed to the one exactly-once verdict, {@link ExactlyOnceCheck} (common), which {@code csr soak} uses too.
 */
public final class PipelineExpectations {
    public static final Map<String, Long> WINDOW_SIZES = ExactlyOnceCheck.WINDOW_SIZES;

    private final ExactlyOnceCheck check;

    /**
     * @param sequences the JetStream sequence each message got, same order; empty where a test checks events and windows
     *                  only (its messages are all valid, so no dead letter is looked up by sequence)
     */
    public PipelineExpectations(List<EventFixture.Message> messages, List<Long> sequences, String stream) {
        if (!sequences.isEmpty() && sequences.size() != messages.size()) {
            throw new IllegalArgumentException(messages.size() + " messages but " + sequences.size() + " sequences");
        }
        List<ExactlyOnceCheck.Published> published = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            EventFixture.Message m = messages.get(i);
            published.add(new ExactlyOnceCheck.Published(m.companyId(), m.eventId(), m.metric(), m.occurredAtMs(), m.value(),
                    m.valid(), sequences.isEmpty() ? -1L : sequences.get(i)));
        }
        this.check = new ExactlyOnceCheck(published, stream);
    }

    public long distinctValidEvents() {
        return check.distinctValidEvents();
    }

    public Set<Long> malformedSequences() {
        return check.malformedSequences();
    }

    /**
     * The exactly-once verdict of a run: waits up to {@code within} until every valid event and every malformed
     * message is committed, and up to a minute more for the windows to catch up (corrections come after commits), then
     * asserts every valid event once under {@code FINAL} and row for row ({@link #rawProblems}), every malformed message
     * once in {@code dead_letters}, and every window equal to a recomputation from the messages.
     *
     * @param faultDuringCommits whether something was killed while a commit could be running (see {@link #rawProblems})
     * @param faults             what the run went through, for the failure message of the raw check
     */
    public void assertExactlyOnce(ClickHouseAccess ch, boolean faultDuringCommits, String faults, Duration within) {
        // a poll that meets a ClickHouse just restarted by the test (a pooled connection to the killed server fails at once)
        // polls again; the assertions below run on a server that answered
        await("every valid event committed").atMost(within).pollInterval(Duration.ofSeconds(1))
                .ignoreExceptionsInstanceOf(ClickHouseAccessException.class)
                .until(() -> eventsFinal(ch) >= distinctValidEvents()
                        && deadLetterSequences(ch).size() >= malformedSequences().size());
        try {
            await("windows caught up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                    .ignoreExceptionsInstanceOf(ClickHouseAccessException.class)
                    .until(() -> windowMismatches(ch).isEmpty());
        } catch (ConditionTimeoutException e) {
            // the assertion below lists the differences
        }
        assertThat(eventsFinal(ch)).isEqualTo(distinctValidEvents());
        assertThat(ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL")).isEqualTo(distinctValidEvents());
        assertRawOnce(ch, faultDuringCommits, faults);
        assertThat(deadLetterSequences(ch)).containsExactlyInAnyOrderElementsOf(malformedSequences());
        List<String> mismatches = windowMismatches(ch);
        assertThat(mismatches).as("%d window mismatches, first ones: %s", mismatches.size(),
                mismatches.subList(0, Math.min(25, mismatches.size()))).isEmpty();
    }

    /**
     * Every valid event and malformed message once, row for row: {@link #rawProblems} over the counters of every row
     * inserted, which no merge can collapse.
     */
    public void assertRawOnce(ClickHouseAccess ch, boolean faultDuringCommits, String faults) {
        assertRawOnce(ch, faultDuringCommits, faults, ExactlyOnceCheck.THIS_SERVER);
    }

    /** {@link #assertRawOnce(ClickHouseAccess, boolean, String)} over the counters of {@link ExactlyOnceCheck#onServers}. */
    public void assertRawOnce(ClickHouseAccess ch, boolean faultDuringCommits, String faults, UnaryOperator<String> counters) {
        try { // a commit's ledger row follows its INSERT: the last batch may be visible a moment before it is recorded
            await("the commit ledger caught up").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                    .ignoreExceptionsInstanceOf(ClickHouseAccessException.class)
                    .until(() -> check.rawProblems(ch, faultDuringCommits, counters).isEmpty());
        } catch (ConditionTimeoutException e) {
            // the assertion below lists the problems
        }
        assertThat(check.rawProblems(ch, faultDuringCommits, counters)).as("every event once, every row inserted counted (%s)", faults)
                .isEmpty();
    }

    /** See {@link ExactlyOnceCheck#replicaRawProblems}. */
    public List<String> replicaRawProblems(ClickHouseAccess replica, String name, ClickHouseAccess ch, UnaryOperator<String> shardCounters) {
        return check.replicaRawProblems(replica, name, ch, shardCounters);
    }

    /** Events under {@code FINAL}: copies of one event collapse, so this alone cannot see a duplicate insert. */
    public long eventsFinal(ClickHouseAccess ch) {
        return ExactlyOnceCheck.eventsFinal(ch);
    }

    /** See {@link ExactlyOnceCheck#installRawCounters}. */
    public static void installRawCounters(ClickHouseAccess ch) {
        ExactlyOnceCheck.installRawCounters(ch);
    }

    /** See {@link ExactlyOnceCheck#rawProblems}. */
    public List<String> rawProblems(ClickHouseAccess ch, boolean faultDuringCommits) {
        return check.rawProblems(ch, faultDuringCommits);
    }

    /** Events rows ever inserted beyond one per (company, event): copies FINAL would collapse. */
    public static long rawEventCopies(ClickHouseAccess ch) {
        return ExactlyOnceCheck.rawEventCopies(ch);
    }

    public List<Long> deadLetterSequences(ClickHouseAccess ch) {
        return check.deadLetterSequences(ch);
    }

    /** Differences between metric_windows FINAL and the recomputation; empty when they agree. */
    public List<String> windowMismatches(ClickHouseAccess ch) {
        return check.windowMismatches(ch);
    }
}
