package io.csr.job.cluster;

import io.csr.job.testing.TestClusters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The cluster {@code csr cluster up} runs, as the tests run it (no HA, free ports): it starts, registers its slots,
 * loses a TaskManager to kill -9 and takes a restarted one back, and {@code down} leaves no process behind.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class LocalClusterITCase {
    @TempDir
    Path dir;

    @Test
    void startsRegistersSlotsAndSurvivesATaskManagerKill() throws Exception {
        LocalCluster cluster = TestClusters.cluster(dir, "it-local", 1, 3, "");
        try {
            cluster.up();
            assertThat(cluster.registeredSlots()).isEqualTo(3);
            assertThat(cluster.get("/config")).contains("flink-version");
            assertThat(cluster.get("/jobmanager/config")).as("a free RPC port, not Flink's fixed 6123")
                    .contains("jobmanager.rpc.port").doesNotContain("\"6123\"");

            cluster.killTaskManager(1);
            assertThat(cluster.taskManagerAlive(1)).isFalse();
            await().atMost(Duration.ofSeconds(30)).until(() -> cluster.registeredSlots() == 0);

            cluster.restartTaskManager(1);
            assertThat(cluster.taskManagerAlive(1)).isTrue();
            assertThat(cluster.registeredSlots()).isEqualTo(3);
        } catch (Throwable t) {
            System.err.println(cluster.logTail(40));
            throw t;
        } finally {
            List<Long> started = cluster.livePids();
            cluster.down();
            assertThat(started).as("down() stops every process").noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        }
    }
}
