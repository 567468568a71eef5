package io.csr.job.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The fixture itself: a JobManager and a TaskManager from the Maven jars; a killed TaskManager is replaced. */
class FlinkStandaloneClusterITCase {
    @TempDir
    Path dir;

    @Test
    void startsRegistersSlotsAndSurvivesATaskManagerKill() throws Exception {
        try (FlinkStandaloneCluster cluster = new FlinkStandaloneCluster(dir, Map.of()).start()) {
            assertThat(cluster.freeOrUsedSlots()).isEqualTo(FlinkStandaloneCluster.SLOTS);
            assertThat(cluster.get("/config")).contains("flink-version");

            cluster.killTaskManager();
            assertThat(cluster.taskManagerAlive()).isFalse();
            await().atMost(Duration.ofSeconds(30)).until(() -> cluster.freeOrUsedSlots() == 0);

            cluster.startTaskManager();
            assertThat(cluster.freeOrUsedSlots()).isEqualTo(FlinkStandaloneCluster.SLOTS);
        }
    }
}
