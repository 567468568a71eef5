package io.csr.job.dedup;

import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import io.csr.job.pipeline.TestMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventDeduplicatorTest {
    private static final Duration TTL = Duration.ofHours(24);
    private static final long HOUR_MS = 3_600_000L;

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, CsrEvent> harness;
    private TestMetrics metrics;

    @BeforeEach
    void setUp() throws Exception {
        metrics = new TestMetrics();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new EventDeduplicator(TTL)),
                EventDeduplicator::key, Types.STRING, metrics.environment());
        harness.open();
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
        metrics.close();
    }

    private static CsrEvent event(String companyId, String eventId, double value) {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.METRIC;
        e.companyId = companyId;
        e.eventId = eventId;
        e.name = "sroi";
        e.userId = "";
        e.value = value;
        return e;
    }

    @Test
    void repeatedEventIdIsDroppedAndFirstWins() throws Exception {
        harness.processElement(event("acme", "e1", 1), 0);
        harness.processElement(event("acme", "e1", 2), 0);
        harness.processElement(event("acme", "e2", 3), 0);

        assertThat(harness.extractOutputValues()).extracting(e -> e.eventId + "=" + e.value)
                .containsExactly("e1=1.0", "e2=3.0");
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
        assertThat(metrics.count("eventsDuplicate")).isEqualTo(1);
    }

    @Test
    void sameEventIdOfAnotherCompanyIsNotADuplicate() throws Exception {
        harness.processElement(event("acme", "e1", 1), 0);
        harness.processElement(event("globex", "e1", 2), 0);
        assertThat(harness.extractOutputValues()).hasSize(2);
    }

    @Test
    void duplicateWithinTtlIsDroppedAfterItIsAdmittedAgain() throws Exception {
        harness.setStateTtlProcessingTime(0);
        harness.processElement(event("acme", "e1", 1), 0);
        harness.setStateTtlProcessingTime(23 * HOUR_MS);
        harness.processElement(event("acme", "e1", 1), 0);
        assertThat(harness.extractOutputValues()).hasSize(1);

        harness.setStateTtlProcessingTime(24 * HOUR_MS + 1);
        harness.processElement(event("acme", "e1", 1), 0);
        assertThat(harness.extractOutputValues()).hasSize(2);
    }

    @Test
    void seenStateSurvivesARestore() throws Exception {
        harness.processElement(event("acme", "e1", 1), 0);
        var snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new EventDeduplicator(TTL)), EventDeduplicator::key, Types.STRING);
        harness.initializeState(snapshot);
        harness.open();
        harness.processElement(event("acme", "e1", 1), 0);
        assertThat(harness.extractOutputValues()).isEmpty();
    }

    @Test
    void ttlIsConfiguredFromLastWriteAndNeverReturnsExpired() {
        StateTtlConfig ttl = EventDeduplicator.seenDescriptor(Duration.ofHours(36)).getTtlConfig();
        assertThat(ttl.isEnabled()).isTrue();
        assertThat(ttl.getTimeToLive()).isEqualTo(Duration.ofHours(36));
        assertThat(ttl.getUpdateType()).isEqualTo(StateTtlConfig.UpdateType.OnCreateAndWrite);
        assertThat(ttl.getStateVisibility()).isEqualTo(StateTtlConfig.StateVisibility.NeverReturnExpired);
        assertThat(ttl.getCleanupStrategies().getIncrementalCleanupStrategy().getCleanupSize()).isEqualTo(2);
        assertThat(ttl.getCleanupStrategies().inRocksdbCompactFilter()).isTrue();
    }

    @Test
    void ttlBelow24HoursIsRejected() {
        assertThatThrownBy(() -> new EventDeduplicator(Duration.ofHours(23)))
                .hasMessageContaining("DEDUP_TTL_HOURS");
    }
}
