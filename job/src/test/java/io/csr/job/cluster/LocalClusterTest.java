package io.csr.job.cluster;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalClusterTest {
    @TempDir
    Path state;

    private LocalClusterSettings settings(String quorum) {
        return new LocalClusterSettings(state, 18_081, quorum, "it-a1", 2, 2, Path.of("/jdk"), "a.jar", List.of());
    }

    @Test
    void withZooKeeperTheClusterRunsFlinksHaServicesWithItsStateUnderTheStateDir() {
        Map<String, String> c = new LocalCluster(settings("127.0.0.1:2181"), s -> { }).flinkConfiguration();
        assertThat(c).containsEntry("high-availability.type", "zookeeper")
                .containsEntry("high-availability.zookeeper.quorum", "127.0.0.1:2181")
                .containsEntry("high-availability.cluster-id", "/it-a1")
                .containsEntry("high-availability.storageDir", state.resolve("cluster/ha").toUri().toString())
                .containsEntry("rest.port", "18081")
                .containsEntry("taskmanager.numberOfTaskSlots", "2");
        assertThat(c.get("high-availability.zookeeper.client.session-timeout")).as("a killed leader's session ends quickly").isEqualTo("6000");
    }

    @Test
    void withoutZooKeeperThereIsNoHaAndTheTaskManagersFindTheJobManagerOnAFixedPort() {
        Map<String, String> c = new LocalCluster(settings(""), s -> { }).flinkConfiguration();
        assertThat(c).doesNotContainKey("high-availability.type").containsEntry("jobmanager.rpc.port", "6123");
    }

    @Test
    void writesAFlinkConfigAndReportsEverythingDownWhenNothingRuns() throws Exception {
        LocalCluster cluster = new LocalCluster(settings("127.0.0.1:2181"), s -> { });
        cluster.writeConfig();
        assertThat(Files.readString(state.resolve("cluster/conf/flink-conf.yaml"))).contains("high-availability.type: zookeeper");
        StringBuilder out = new StringBuilder();
        assertThat(cluster.status(l -> out.append(l).append('\n'))).isFalse();
        assertThat(out).contains("flink-jobmanager").contains("down").contains("bin/csr cluster up");
    }

    @Test
    void aStalePidFileIsNotARunningProcess() throws Exception {
        LocalCluster cluster = new LocalCluster(settings(""), s -> { });
        Files.createDirectories(state.resolve("run"));
        Files.writeString(state.resolve("run/flink-jobmanager.pid"), "999999999\n");
        assertThat(cluster.pid(LocalCluster.JOB_MANAGER)).isEmpty();
    }

    @Test
    void forgettingJobsDeletesTheHaStorageOfAStoppedCluster() throws Exception {
        Path ha = state.resolve("cluster/ha/default/job-graphs");
        Files.createDirectories(ha);
        Files.writeString(ha.resolve("jobGraph-1"), "x");
        new LocalCluster(settings(""), s -> { }).forgetJobs();
        assertThat(state.resolve("cluster/ha")).doesNotExist();
        assertThat(state.resolve("cluster")).exists();
    }

    @Test
    void theClusterClasspathLeavesOutTheProjectsOwnCode() {
        String cp = String.join(File.pathSeparator, "/m2/org/apache/flink/flink-runtime-1.20.3.jar",
                "/repo/job/target/classes", "/m2/io/csr/csr-common/0.1.0-SNAPSHOT/csr-common-0.1.0-SNAPSHOT.jar", "/repo/common/target/classes");
        assertThat(LocalClusterSettings.flinkClasspath(cp)).isEqualTo("/m2/org/apache/flink/flink-runtime-1.20.3.jar");
    }

    @Test
    void aRemoteRestUrlIsRefusedWithTheAlternative() {
        CsrConfig config = CsrConfig.of(Map.of(ConfigKey.FLINK_REST_URL.name(), "http://flink.example:8081",
                ConfigKey.CSR_STATE_DIR.name(), state.toString()));
        assertThatThrownBy(() -> LocalClusterSettings.from(config, state))
                .hasMessageContaining("http://flink.example:8081").hasMessageContaining("csr submit");
    }
}
