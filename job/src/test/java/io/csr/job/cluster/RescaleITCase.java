package io.csr.job.cluster;

import io.csr.common.config.CsrConfig;
import io.csr.job.lease.JobLease;
import io.csr.job.lease.LeaseSettings;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestJars;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
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
 * every valid event once and every window equal to a recomputation over all events. While the first job runs, a
 * second one submitted with the same sink fails for good, naming the running job (the job lease). A savepoint path
 * that does not exist is refused before anything is submitted, naming the path.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class RescaleITCase {
    private static final int TOTAL = 3_000;
    private static final int FIRST_PART = 1_500;

    @RegisterExtension
    static final SharedFlinkCluster flink = new SharedFlinkCluster();

    @TempDir
    Path tmp;

    @Test
    void savepointThenResubmitWithAnotherParallelismLosesAndDuplicatesNothing() throws Exception {
        List<EventFixture.Message> messages = EventFixture.recent(TOTAL, 3, 11).messages();
        try (ClusterJobHarness h = new ClusterJobHarness(tmp, flink)) {
            h.onCluster(() -> {
                List<Long> sequences = new ArrayList<>();
                h.stream.publishAll(messages, 0, FIRST_PART, sequences);
                JobID first = h.submit(2, null);
                assertThat(h.vertexParallelism(first)).contains(2).doesNotContain(3);
                PipelineExpectations part = new PipelineExpectations(messages.subList(0, FIRST_PART), sequences, h.stream.stream);
                await("first part committed").atMost(Duration.ofSeconds(120))
                        .until(() -> part.eventsFinal(h.ch) == part.distinctValidEvents());

                String savepoint;
                try (ClusterControl control = h.control(2)) {
                    // exactly one job per sink: the lease is held inside the running job (its sink's subtask 0, on a
                    // TaskManager) under the Flink job id, which a second submission is refused with (in a free slot)
                    String lease = h.ch.database() + "/csr-clickhouse";
                    assertThat(JobLease.heldByOther(LeaseSettings.from(CsrConfig.fromEnvironment().with(h.ns.jobConfig()))))
                            .hasValueSatisfying(m -> assertThat(m).contains("another job already runs with sink " + lease)
                                    .contains("Flink job " + first.toHexString()));
                    JobID duplicate = control.submit(TestJars.shadedJobJar().toFile(), h.jobArgs(1), null);
                    await("the second job fails").atMost(Duration.ofSeconds(60)).until(() -> control.status(duplicate) == JobStatus.FAILED);
                    assertThat(h.cluster.get("/jobs/" + duplicate + "/exceptions")).as("failed for good, naming the running job")
                            .contains("another job already runs with sink " + lease).contains("Flink job " + first.toHexString());
                    assertThat(control.runningJobs()).containsExactly(first);

                    savepoint = control.stopWithSavepoint(first);
                    assertThat(Path.of(URI.create(savepoint)).resolve("_metadata")).isRegularFile();
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

                new PipelineExpectations(messages, sequences, h.stream.stream).assertExactlyOnce(h.ch, false,
                        "a savepoint stop and a resubmission: no crash, so not one raw copy", Duration.ofSeconds(150));
                assertThat(h.ch.queryLong("SELECT count() FROM metric_windows FINAL")).isPositive();
                try (ClusterControl control = h.control(3)) {
                    control.stopWithSavepoint(second);
                }
            });
        }
    }
}
