package io.csr.job.cluster;

import io.csr.job.runtime.ClusterControl;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.PipelineExpectations;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * JobManager failover with Flink's ZooKeeper HA on the real local cluster: while events arrive, the JobManager is
 * killed with SIGKILL; more events arrive while it is down; it is started again (as {@code csr cluster up} does) and —
 * with no one submitting anything — takes the job back from ZooKeeper under the same job id and resumes it from the
 * latest completed checkpoint. ClickHouse then holds every valid event once and every window equal to a recomputation.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class JobManagerFailoverITCase {
    private static final int TOTAL = 3_000;

    @RegisterExtension
    static final SharedFlinkCluster flink = new SharedFlinkCluster();

    @TempDir
    Path tmp;

    @Test
    void aKilledJobManagerRestartedResumesTheJobByItselfFromItsLatestCheckpoint() throws Exception {
        List<EventFixture.Message> messages = EventFixture.recent(TOTAL, 3, 23).messages();
        try (ClusterJobHarness h = new ClusterJobHarness(tmp, flink)) {
            h.onCluster(() -> {
                List<Long> sequences = new ArrayList<>();
                h.stream.publishAll(messages, 0, 1_200, sequences);
                JobID job = h.submit(3, null);
                await("rows committed before the crash").atMost(Duration.ofSeconds(120)).until(() -> h.committedEvents() > 300);
                await("a completed checkpoint").atMost(Duration.ofSeconds(60))
                        .until(() -> h.cluster.get("/jobs/" + job + "/checkpoints").matches("(?s).*\"completed\"\\s*:\\s*[1-9].*"));

                h.stream.publishAll(messages, 1_200, 2_000, sequences); // mid-traffic
                long lastCompletedBeforeKill = latestCompletedCheckpoint(h, job);
                h.cluster.killJobManager();
                assertThat(h.cluster.jobManagerAlive()).isFalse();
                say(h, "killed the JobManager (SIGKILL) at " + h.committedEvents() + " committed events rows");
                h.stream.publishAll(messages, 2_000, TOTAL, sequences); // while it is down

                h.cluster.startJobManager();
                await("the job is RUNNING again under its id").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> h.cluster.get("/jobs/" + job).contains("\"state\":\"RUNNING\""));
                String checkpoints = h.cluster.get("/jobs/" + job + "/checkpoints");
                assertThat(checkpoints).as("resumed from a retained checkpoint, not from the stream's start")
                        .containsPattern("\"restored\"\\s*:\\s*\\{").containsPattern("\"is_savepoint\"\\s*:\\s*false");
                java.util.regex.Matcher restored = java.util.regex.Pattern.compile("\"restored\"\\s*:\\s*\\{\"id\"\\s*:\\s*(\\d+)").matcher(checkpoints);
                assertThat(restored.find()).as("restored checkpoint id in %s", checkpoints).isTrue();
                assertThat(Long.parseLong(restored.group(1))).as("resumed from the latest checkpoint, not an older one")
                        .isGreaterThanOrEqualTo(lastCompletedBeforeKill);

                new PipelineExpectations(messages, sequences, h.stream.stream).assertExactlyOnce(h.ch, true,
                        "the JobManager kill can cut a commit between its INSERT and its ledger row", Duration.ofSeconds(150));
                try (ClusterControl control = h.control(3)) {
                    assertThat(control.runningJobs()).as("one job, the recovered one").containsExactly(job);
                    control.stopWithSavepoint(job);
                    assertThat(control.status(job)).isEqualTo(JobStatus.FINISHED);
                }
            });
        }
    }

    /** The id of the job's latest completed checkpoint ("latest" → "completed" → "id" in GET /jobs/:id/checkpoints). */
    private static long latestCompletedCheckpoint(ClusterJobHarness h, JobID job) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"latest\"\\s*:\\s*\\{\"completed\"\\s*:\\s*\\{\"[^{]*?\"id\"\\s*:\\s*(\\d+)")
                .matcher(h.cluster.get("/jobs/" + job + "/checkpoints"));
        assertThat(m.find()).as("a completed checkpoint before the kill").isTrue();
        return Long.parseLong(m.group(1));
    }

    private static void say(ClusterJobHarness h, String line) {
        System.out.println("[JobManagerFailoverITCase " + Instant.now() + "] " + line);
    }
}
