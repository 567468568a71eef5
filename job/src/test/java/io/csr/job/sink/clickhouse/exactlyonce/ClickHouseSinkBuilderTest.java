package io.csr.job.sink.clickhouse.exactlyonce;

import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigException;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseSinkBuilderTest {
    static final ClickHouseSettings LOCAL = new ClickHouseSettings("http://127.0.0.1:8123", "default", "", "csr", false, 30_000);

    @Test
    void defaultsComeFromTheConfigKeyTable() {
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(LOCAL).build();
        ClickHouseSinkOptions o = sink.options();
        assertThat(o.sinkId()).isEqualTo("csr-clickhouse");
        assertThat(o.batchRows()).isEqualTo(50_000);
        assertThat(o.batchBytes()).isEqualTo(16L * 1024 * 1024);
        assertThat(o.commitRetries()).isEqualTo(8);
        assertThat(o.tables()).isEqualTo(ClickHouseSinkOptions.CONTRACT_TABLES);
        assertThat(sink.clickHouseSettings()).isEqualTo(LOCAL);
    }

    @Test
    void optionsAreReadFromConfiguration() {
        CsrConfig config = CsrConfig.of(Map.of(
                ConfigKey.CLICKHOUSE_SINK_ID.name(), "sink-2",
                ConfigKey.CLICKHOUSE_BATCH_ROWS.name(), "1000",
                ConfigKey.CLICKHOUSE_BATCH_BYTES.name(), "65536",
                ConfigKey.CLICKHOUSE_COMMIT_RETRIES.name(), "0",
                ConfigKey.CLICKHOUSE_COMMIT_BACKOFF_MS.name(), "50",
                ConfigKey.CLICKHOUSE_COMMIT_MAX_BACKOFF_MS.name(), "60"));
        ClickHouseSinkOptions o = ClickHouseSink.builder().clickHouse(LOCAL).options(ClickHouseSinkOptions.from(config)).build().options();
        assertThat(o).isEqualTo(new ClickHouseSinkOptions("sink-2", 1000, 65536, 0, 50, 60, ClickHouseSinkOptions.CONTRACT_TABLES));

        assertThatThrownBy(() -> ClickHouseSinkOptions.from(config.with(ConfigKey.CLICKHOUSE_BATCH_ROWS, "0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("CLICKHOUSE_BATCH_ROWS");
    }

    @Test
    void buildValidatesEverythingAndNamesTheBadValue() {
        assertThatThrownBy(() -> ClickHouseSink.builder().build()).hasMessageContaining("clickHouse(settings)");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).sinkId("no spaces").build())
                .hasMessageContaining("CLICKHOUSE_SINK_ID='no spaces'");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).batchRows(0).build())
                .hasMessageContaining("CLICKHOUSE_BATCH_ROWS=0");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).batchBytes(-1).build())
                .hasMessageContaining("CLICKHOUSE_BATCH_BYTES=-1");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).batchBytes(2L << 30).build())
                .hasMessageContaining("CLICKHOUSE_BATCH_BYTES=");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).commitRetries(-1).build())
                .hasMessageContaining("CLICKHOUSE_COMMIT_RETRIES=-1");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).retryBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .hasMessageContaining("CLICKHOUSE_COMMIT_BACKOFF_MS");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).tables(List.of()).build())
                .hasMessageContaining("at least one table");
        assertThatThrownBy(() -> ClickHouseSink.builder().clickHouse(LOCAL).tables(List.of("events; DROP TABLE x")).build())
                .hasMessageContaining("not a valid ClickHouse identifier");
    }

    @Test
    void theSinkIsSerializableWithItsSettings() throws Exception {
        ClickHouseSink sink = ClickHouseSink.builder().clickHouse(LOCAL).tables(Set.of("events")).batchRows(7).build();
        ClickHouseSink copy = InstantiationUtil.clone(sink);
        assertThat(copy.options()).isEqualTo(sink.options());
        assertThat(copy.clickHouseSettings()).isEqualTo(LOCAL);
    }
}
