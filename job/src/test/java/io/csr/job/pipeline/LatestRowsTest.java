package io.csr.job.pipeline;

import io.csr.common.json.Json;
import io.csr.job.aggregate.WindowFiring;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LatestRowsTest {
    static final long MINUTE = 1_796_000_040_000L;

    static WindowFiring firing(String company, String metric, String window, long start, long version, long count) {
        WindowFiring f = new WindowFiring();
        f.companyId = company;
        f.metric = metric;
        f.window = window;
        f.windowStartMs = start;
        f.windowEndMs = start + 60_000;
        f.count = count;
        f.version = version;
        f.updatedAtMs = start + 1_000;
        return f;
    }

    static List<String> versions(OneInputStreamOperatorTestHarness<WindowFiring, TableRow> harness) {
        return harness.extractOutputValues().stream().map(row -> {
            com.fasterxml.jackson.databind.JsonNode json;
            try {
                json = Json.mapper().readTree(row.json);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            return json.get("company_id").asText() + "/" + json.get("metric").asText() + "/" + json.get("window_size").asText()
                    + " v" + json.get("version").asLong() + " count " + json.get("count").asLong();
        }).toList();
    }

    @Test
    void writesEachWindowOncePerCheckpointAtItsLatestFiring() throws Exception {
        LatestRows<WindowFiring> operator = new LatestRows<>();
        try (var harness = new OneInputStreamOperatorTestHarness<WindowFiring, TableRow>(operator)) {
            harness.open();
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE, 1, 1)));
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE, 2, 2)));
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1h", MINUTE, 2, 2)));
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE, 3, 3)));
            harness.processElement(new StreamRecord<>(firing("beta", "sroi", "1m", MINUTE, 1, 1)));
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE + 60_000, 1, 1)));

            assertThat(harness.extractOutputValues()).as("nothing leaves before the barrier").isEmpty();
            assertThat(operator.pending()).isEqualTo(4);

            operator.prepareSnapshotPreBarrier(1);
            assertThat(versions(harness)).containsExactlyInAnyOrder(
                    "acme/sroi/1m v3 count 3", "acme/sroi/1h v2 count 2", "beta/sroi/1m v1 count 1", "acme/sroi/1m v1 count 1");
            assertThat(harness.extractOutputValues()).allSatisfy(row -> {
                assertThat(row.table).isEqualTo("metric_windows");
                assertThat(row.partition).isEqualTo(202611);
            });
            assertThat(operator.pending()).isZero();

            // the next checkpoint: the window fires again and is written again at its newer version; the end of a
            // bounded input writes what is pending without a barrier
            harness.getOutput().clear();
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE, 5, 5)));
            harness.processElement(new StreamRecord<>(firing("acme", "sroi", "1m", MINUTE, 4, 4)));
            operator.endInput();
            assertThat(versions(harness)).containsExactly("acme/sroi/1m v5 count 5");
        }
    }
}
