package io.csr.job.cluster;

import io.csr.common.config.ConfigKey;
import io.csr.common.contract.EventSubjects;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.PipelineExpectations;
import org.apache.flink.api.common.JobID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 23: a rescale 2 → 4 → 2 with partitioned subjects on the real local cluster stays exact. The job runs with
 * NATS_PARTITIONS=4 (3 × 5 splits) at parallelism 2, stops with a savepoint, is submitted again from it at 4 (four
 * source readers: more than the three a family-per-split source could run) and then at 2 again, with traffic before
 * each step. Producers publish {@code <family>.<partitionOf(companyId, 4)>.<name>}, some the original form, and a few
 * messages carry a bad partition token (strays the enumerator finds, read through splits of their own). ClickHouse
 * then holds every valid event once, every malformed message once in dead_letters and every window equal to a
 * recomputation over all events.
 */
@Timeout(value = 9, unit = TimeUnit.MINUTES)
class PartitionedRescaleITCase {
    private static final int PARTITIONS = 4;
    private static final int TOTAL = 3_000;

    @RegisterExtension
    static final SharedFlinkCluster flink = new SharedFlinkCluster();

    @TempDir
    Path tmp;

    @Test
    void rescaleTwoFourTwoWithPartitionedSubjectsIsExact() throws Exception {
        List<EventFixture.Message> messages = partitioned(EventFixture.recent(TOTAL, 6, 23).messages());
        assertThat(messages).extracting(EventFixture.Message::subject).anyMatch(s -> s.matches("metrics\\.[0-3]\\.\\w+"))
                .anyMatch(s -> s.matches("metrics\\.[a-z_]+")).anyMatch(s -> s.startsWith("metrics.x."));
        int[] parts = {0, TOTAL / 3, 2 * TOTAL / 3, TOTAL};
        int[] parallelism = {2, 4, 2};
        try (ClusterJobHarness h = new ClusterJobHarness(tmp, flink)) {
            h.config.put(ConfigKey.NATS_PARTITIONS.name(), String.valueOf(PARTITIONS));
            h.onCluster(() -> {
                List<Long> sequences = new ArrayList<>();
                String savepoint = null;
                for (int step = 0; step < 3; step++) {
                    h.stream.publishAll(messages, parts[step], parts[step + 1], sequences);
                    int p = parallelism[step];
                    JobID job = h.submit(p, savepoint);
                    assertThat(h.sourceParallelism(job)).as("step %d: %d source readers", step, p).isEqualTo(p);
                    PipelineExpectations sofar = new PipelineExpectations(messages.subList(0, parts[step + 1]), sequences, h.stream.stream);
                    if (step < 2) {
                        await("step " + step + " committed").atMost(Duration.ofSeconds(150))
                                .until(() -> sofar.eventsFinal(h.ch) == sofar.distinctValidEvents());
                        try (ClusterControl control = h.control(parallelism[step])) {
                            savepoint = control.stopWithSavepoint(job);
                        }
                    } else {
                        sofar.assertExactlyOnce(h.ch, false, "savepoint stops and resubmissions at 2, 4, 2: no crash, so not one raw copy",
                                Duration.ofSeconds(150));
                        assertThat(h.ch.queryLong("SELECT count() FROM metric_windows FINAL")).isPositive();
                        try (ClusterControl control = h.control(parallelism[step])) {
                            control.stopWithSavepoint(job);
                        }
                    }
                }
            });
        }
    }

    /**
     * The messages as partitioned producers publish them: valid ones on {@code <family>.<partition>.<name>} (every
     * tenth in the original form), malformed ones every third on a bad partition token ({@code metrics.x.sroi}), the
     * rest unchanged.
     */
    static List<EventFixture.Message> partitioned(List<EventFixture.Message> messages) {
        List<EventFixture.Message> out = new ArrayList<>(messages.size());
        int valid = 0;
        int malformed = 0;
        for (EventFixture.Message m : messages) {
            String subject = m.subject();
            if (m.valid() && valid++ % 10 != 0) {
                EventSubjects.Subject s = EventSubjects.parse(subject);
                subject = EventSubjects.subject(s.family(), s.name(), m.companyId(), PARTITIONS);
            } else if (!m.valid() && malformed++ % 3 == 0) {
                subject = "metrics.x.sroi";
            }
            out.add(new EventFixture.Message(subject, m.body(), m.companyId(), m.eventId(), m.metric(), m.occurredAtMs(), m.value(),
                    m.valid(), m.duplicate()));
        }
        return out;
    }
}
