package io.csr.job.perf;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.job.config.JobOptions;
import io.csr.job.model.RawMessage;
import io.csr.job.pipeline.CsrPipeline;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.testing.EventFixture;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The preload savepoint is state the real pipeline restores: its dedup operator drops a re-published preloaded id,
 * passes new ids and the same eventId under another company. Runs two small MiniCluster jobs (nothing else needed).
 */
class DedupStatePreloadTest {
    private static final int PRELOADED_IDS = 2_000;
    private static final int PROBES = 50;
    private static final int PARALLELISM = 2;
    private static final long T0 = Instant.parse("2026-11-27T10:15:00Z").toEpochMilli();
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    Path dir;

    @Test
    void thePipelineRestoredFromThePreloadDropsPreloadedIdsAndPassesNewOnes() throws Exception {
        RuntimeOptions runtime = RuntimeOptions.from(CsrConfig.of(Map.of()));
        Duration ttl = Duration.ofMillis(JobOptions.defaults().dedupTtlMs());
        Path savepoint = dir.resolve("preload");

        DedupStatePreload.Result written = DedupStatePreload.writeOrReuse(savepoint, PRELOADED_IDS, PARALLELISM,
                runtime.maxParallelism(), ttl, QUIET);
        assertThat(written.reused()).isFalse();
        assertThat(written.bytes()).isPositive();
        assertThat(savepoint.resolve("_metadata")).isRegularFile();
        assertThat(DedupStatePreload.writeOrReuse(savepoint, PRELOADED_IDS, PARALLELISM, runtime.maxParallelism(), ttl, QUIET)
                .reused()).as("a second run with the same N reuses it").isTrue();
        assertThatThrownBy(() -> DedupStatePreload.writeOrReuse(savepoint, PRELOADED_IDS + 1, PARALLELISM,
                runtime.maxParallelism(), ttl, QUIET)).hasMessageContaining("holds 2000 ids");

        List<RawMessage> messages = new ArrayList<>();
        Set<String> expected = new TreeSet<>();
        for (EventFixture.Message probe : DedupStatePreload.probes(PROBES, PRELOADED_IDS, T0)) {
            messages.add(raw(probe.subject(), probe.body(), messages.size()));
        }
        String preloadedId = DedupStatePreload.eventId(7);
        String otherCompany = "co-" + (DedupStatePreload.COMPANIES + 1);
        messages.add(raw("metrics.sroi", metric(otherCompany, preloadedId), messages.size()));
        expected.add(otherCompany + "/" + preloadedId);
        for (int i = 0; i < 10; i++) {
            String company = DedupStatePreload.companyId(i);
            messages.add(raw("metrics.sroi", metric(company, "new-" + i), messages.size()));
            expected.add(company + "/new-" + i);
        }

        assertThat(eventsAfterRestore(savepoint, runtime.maxParallelism(), messages)).containsExactlyElementsOf(expected);
    }

    /** company/eventId of every events row the pipeline emits, restored from {@code savepoint} on RocksDB. */
    private static Set<String> eventsAfterRestore(Path savepoint, int maxParallelism, List<RawMessage> messages) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint.toUri().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(PARALLELISM, conf);
        env.setMaxParallelism(maxParallelism);
        DataStream<RawMessage> raw = env.fromData(messages, TypeInformation.of(RawMessage.class)).name("test messages");
        CsrPipeline.PipelineOutputs outputs = CsrPipeline.build(raw, JobOptions.defaults());
        Set<String> events = new TreeSet<>();
        try (CloseableIterator<TableRow> rows = outputs.rows().collectAsync()) {
            env.execute("dedup preload restore test");
            while (rows.hasNext()) {
                TableRow row = rows.next();
                if (row.table.equals("events")) {
                    JsonNode e = Json.mapper().readTree(row.json);
                    events.add(e.get("company_id").asText() + "/" + e.get("event_id").asText());
                }
            }
        }
        return events;
    }

    private static RawMessage raw(String subject, String body, int n) {
        return new RawMessage("CSR_EVENTS", subject, n + 1, T0, body.getBytes(StandardCharsets.UTF_8));
    }

    private static String metric(String company, String eventId) {
        return String.format(Locale.ROOT, "{\"eventId\":\"%s\",\"companyId\":\"%s\",\"occurredAt\":\"%s\",\"value\":1}",
                eventId, company, Instant.ofEpochMilli(T0));
    }
}
