package io.csr.job.source;

import io.csr.job.model.RawMessage;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The source with partitioned subjects against the real NATS server (NATS_PARTITIONS=4): 3 × 5 splits read by 4
 * readers, every message once — partitioned, original-form and stray subjects (a bad partition token, one at or above
 * the partition count, a fourth token: found by the enumerator and read through splits of their own) — each split's
 * messages in stream order; a stop-with-savepoint and a restore at parallelism 2 continues exactly after the
 * checkpointed positions (strays included, none read twice); a restore with another NATS_PARTITIONS is refused for
 * good, naming the setting and both values.
 */
class PartitionedSourceITCase {
    private static final int PARTITIONS = 4;
    private static final int ROUNDS = 40;
    private static final Queue<RawMessage> SEEN = SourceJobs.SEEN;

    @RegisterExtension
    final SourceJobs jobs = new SourceJobs();

    @Test
    void readsEveryPartitionAndStrayOnceInOrderAcrossARescaleAndRefusesAnotherPartitionCount() throws Exception {
        Map<Long, String> published = new HashMap<>();
        publish(published, List.of("metrics.x.sroi", "metrics.9.sroi", "journey.1.a.b"));

        JobClient first = start(null, PARTITIONS, 4);
        await("everything read, strays included").atMost(Duration.ofSeconds(90)).until(() -> SEEN.size() >= published.size());
        String savepoint = jobs.stopWithSavepoint(first, "sp");
        assertThat(SEEN).extracting(m -> m.streamSeq).containsExactlyInAnyOrderElementsOf(published.keySet());

        publish(published, List.of("metrics.x.sroi", "q2q.07.clarity"));
        JobClient second = start(savepoint, PARTITIONS, 2);
        await("the rest read after a rescale to 2").atMost(Duration.ofSeconds(90)).until(() -> SEEN.size() >= published.size());
        String secondSavepoint = jobs.stopWithSavepoint(second, "sp2");

        assertThat(SEEN).extracting(m -> m.streamSeq).as("every message once").containsExactlyInAnyOrderElementsOf(published.keySet());
        assertThat(SEEN).allSatisfy(m -> assertThat(m.subject).isEqualTo(published.get(m.streamSeq)));
        Map<String, Long> lastPerSubject = new HashMap<>();
        for (RawMessage m : SEEN) {
            Long before = lastPerSubject.put(m.subject, m.streamSeq);
            assertThat(before == null || before < m.streamSeq).as("%s in stream order", m.subject).isTrue();
        }

        JobClient refused = start(secondSavepoint, 2, 2);
        assertThatThrownBy(() -> refused.getJobExecutionResult().get(90, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("written with NATS_PARTITIONS=4 but this job has NATS_PARTITIONS=2")
                        .contains("Set NATS_PARTITIONS=4 to resume from it"));
    }

    /** ROUNDS messages on every partition and the original form of each family, then two on each given stray subject. */
    private void publish(Map<Long, String> published, List<String> strays) throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            for (String family : EventSourceBuilder.FAMILIES) {
                for (int p = -1; p < PARTITIONS; p++) {
                    String subject = p < 0 ? family + ".x" : family + "." + p + ".x";
                    published.put(jobs.stream().publish(subject, "{}"), subject);
                }
            }
        }
        for (String subject : strays) {
            for (int i = 0; i < 2; i++) {
                published.put(jobs.stream().publish(subject, "{}"), subject);
            }
        }
    }

    private JobClient start(String savepoint, int partitions, int parallelism) throws Exception {
        Configuration restarts = new Configuration();
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 100);
        return jobs.start("partitioned-source-it", savepoint, parallelism, source -> source.partitions(partitions), restarts);
    }
}
