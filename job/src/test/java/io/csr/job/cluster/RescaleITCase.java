package io.csr.job.cluster;

import io.csr.job.runtime.ClusterControl;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestJars;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Upgrade and rescale on the real local cluster ({@code csr cluster up}'s JobManager + two TaskManagers): the job runs
 * with parallelism 2 under traffic, stops with a savepoint ({@code csr savepoint}), is submitted again from it with
 * parallelism 3 ({@code csr submit --from-savepoint P --parallelism 3}) and gets more traffic; ClickHouse then holds
 * every valid event once and every window equal to a recomputation over all events. A savepoint path that does not
 * exist is refused before anything is submitted, naming the path.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class RescaleITCase {
    private static final int TOTAL = 3_000;
    private static final int FIRST_PART = 1_500;

    @TempDir
    Path tmp;

    @Test
    void savepointThenResubmitWithAnotherParallelismLosesAndDuplicatesNothing() throws Exception {
        List<EventFixture.Message> messages = new EventFixture(TOTAL, 3, Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(),
                Duration.ofMinutes(5).toMillis(), 0.05, 0.02, 11).messages();
        try (ClusterJobHarness h = new ClusterJobHarness(tmp)) {
            try {
                h.cluster.up();
                List<Long> sequences = new ArrayList<>();
                h.stream.publishAll(messages, 0, FIRST_PART, sequences);
                JobID first = h.submit(2, null);
                assertThat(h.vertexParallelism(first)).contains(2).doesNotContain(3);
                PipelineExpectations part = new PipelineExpectations(messages.subList(0, FIRST_PART), sequences, h.stream.stream);
                await("first part committed").atMost(Duration.ofSeconds(120))
                        .until(() -> part.eventsFinal(h.ch) == part.distinctValidEvents());

                String savepoint;
                try (ClusterControl control = h.control(2)) {
                    savepoint = control.stopWithSavepoint(first);
                    assertThat(control.status(first)).isEqualTo(JobStatus.FINISHED);
                    String missing = savepoint.replaceAll("/+$", "") + "-missing";
                    assertThatThrownBy(() -> control.submit(TestJars.shadedJobJar().toFile(), h.jobArgs(3), missing))
                            .hasMessageContaining(missing).hasMessageContaining("does not exist");
                    assertThat(control.runningJobs()).as("nothing was submitted for the missing savepoint").isEmpty();
                }

                h.stream.publishAll(messages, FIRST_PART, TOTAL, sequences);
                JobID second = h.submit(3, savepoint);
                assertThat(h.vertexParallelism(second)).as("rescaled").contains(3).doesNotContain(2);
                assertThat(h.cluster.get("/jobs/" + second + "/checkpoints")).as("restored the savepoint")
                        .contains(Path.of(URI.create(savepoint)).getFileName().toString());

                PipelineExpectations all = new PipelineExpectations(messages, sequences, h.stream.stream);
                await("every valid event committed").atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> all.eventsFinal(h.ch) >= all.distinctValidEvents()
                                && all.deadLetterSequences(h.ch).size() >= all.malformedSequences().size());
                try {
                    await("windows caught up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                            .until(() -> all.windowMismatches(h.ch).isEmpty());
                } catch (ConditionTimeoutException e) {
                    // the assertion below lists the differences
                }
                assertThat(all.eventsFinal(h.ch)).isEqualTo(all.distinctValidEvents());
                assertThat(h.ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL")).isEqualTo(all.distinctValidEvents());
                assertThat(all.deadLetterSequences(h.ch)).containsExactlyInAnyOrderElementsOf(all.malformedSequences());
                List<String> mismatches = all.windowMismatches(h.ch);
                assertThat(mismatches).as("%d window mismatches, first ones: %s", mismatches.size(),
                        mismatches.subList(0, Math.min(25, mismatches.size()))).isEmpty();
                assertThat(h.ch.queryLong("SELECT count() FROM metric_windows FINAL")).isPositive();
                try (ClusterControl control = h.control(3)) {
                    control.stopWithSavepoint(second);
                }
            } catch (Throwable t) {
                System.err.println(h.cluster.logTail(60));
                throw t;
            }
        }
    }
}
