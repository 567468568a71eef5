package io.csr.job.cluster;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.contrib.streaming.state.RocksDBConfigurableOptions;
import org.apache.flink.contrib.streaming.state.RocksDBOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** flink-conf/config.yaml (mounted by docker-compose) read by Flink's own loader: the HA settings arrive as meant. */
class FlinkConfFileTest {
    @Test
    void flinkReadsZooKeeperHaFromTheComposeConfig(@TempDir Path dir) throws Exception {
        Files.copy(Path.of("../flink-conf/config.yaml"), dir.resolve("config.yaml"));
        Configuration conf = GlobalConfiguration.loadConfiguration(dir.toString());
        assertThat(conf.get(HighAvailabilityOptions.HA_MODE)).isEqualTo("zookeeper");
        // what bin/csr gives the embedded job: bloom filters for the dedup misses, short GC pauses for live latency
        assertThat(conf.get(RocksDBConfigurableOptions.USE_BLOOM_FILTER)).isTrue();
        assertThat(conf.get(RocksDBOptions.USE_PARTITIONED_INDEX_FILTERS)).isTrue();
        assertThat(conf.get(RocksDBConfigurableOptions.MAX_BACKGROUND_THREADS)).isEqualTo(4);
        assertThat(conf.get(CoreOptions.FLINK_TM_JVM_OPTIONS)).contains("-XX:MaxGCPauseMillis=10");
        assertThat(conf.get(HighAvailabilityOptions.HA_ZOOKEEPER_QUORUM)).isEqualTo("zookeeper:2181");
        assertThat(conf.get(HighAvailabilityOptions.HA_STORAGE_PATH)).isEqualTo("file:///flink-data/ha");
        assertThat(conf.get(HighAvailabilityOptions.HA_CLUSTER_ID)).isEqualTo("/csr");
        assertThat(conf.get(HighAvailabilityOptions.ZOOKEEPER_SESSION_TIMEOUT)).isEqualTo(Duration.ofSeconds(15));
        assertThat(conf.get(JobManagerOptions.EXECUTION_FAILOVER_STRATEGY)).isEqualTo("region");
        assertThat(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isEqualTo("file:///flink-data/checkpoints");
    }
}
