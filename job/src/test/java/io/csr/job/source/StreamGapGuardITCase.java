package io.csr.job.source;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.config.ConfigKey;
import io.csr.common.json.Json;
import io.csr.job.model.RawMessage;
import io.csr.job.pipeline.TestMetrics;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * No silent gap when the stream aged out: messages the job had not read are gone from the stream (purged here; aged
 * out by max_age in production) when it resumes. The job refuses to run on (status, log, metric) until
 * ACCEPT_STREAM_GAP=true, and then records the lost range in dead_letters.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StreamGapGuardITCase {
    @TempDir
    Path tmp;

    @Test
    void operatorRefusesAGapByDefaultAndRecordsItWhenAccepted() throws Exception {
        try (TestStream stream = new TestStream(); TestMetrics metrics = new TestMetrics()) {
            stream.publishMetric("a");
            long second = stream.publishMetric("b");
            stream.publishMetric("c"); // never read before the purge: lost

            OperatorSubtaskState snapshot;
            try (var before = harness(stream, false, new TestMetrics())) {
                before.open();
                before.processElement(new RawMessage(stream.stream, "metrics.sroi", second, 0, new byte[0]), 0);
                snapshot = before.snapshot(1, 1);
            }
            stream.connection().jetStreamManagement().purgeStream(stream.stream);
            long fourth = stream.publishMetric("d");

            try (var refused = harness(stream, false, new TestMetrics())) {
                assertThatThrownBy(() -> refused.initializeState(snapshot))
                        .isInstanceOf(SuppressRestartsException.class)
                        .hasStackTraceContaining("metrics.> sequences " + (second + 1) + ".." + (fourth - 1))
                        .hasStackTraceContaining("ACCEPT_STREAM_GAP=true");
            }

            try (var accepted = harness(stream, true, metrics)) {
                accepted.initializeState(snapshot);
                accepted.open();
                accepted.processElement(new RawMessage(stream.stream, "metrics.sroi", fourth, 0, new byte[0]), 0);
                assertThat(accepted.extractOutputValues()).extracting(m -> m.streamSeq).containsExactly(fourth);
                List<TableRow> gaps = accepted.getSideOutput(StreamGapGuard.GAPS).stream().map(StreamRecord::getValue).toList();
                assertThat(gaps).singleElement().satisfies(row -> {
                    assertThat(row.table).isEqualTo("dead_letters");
                    JsonNode json = Json.mapper().readTree(row.json);
                    assertThat(json.get("stream_seq").asLong()).isEqualTo(second + 1);
                    assertThat(json.get("subject").asText()).isEqualTo("metrics.>");
                    assertThat(json.get("error").asText()).contains("stream gap").contains((second + 1) + ".." + (fourth - 1));
                });
                assertThat(metrics.gauge("streamGapMessages")).isEqualTo(fourth - 1 - second);
            }
        }
    }

    private static OneInputStreamOperatorTestHarness<RawMessage, RawMessage> harness(TestStream stream, boolean accept,
                                                                                    TestMetrics metrics) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new StreamGapGuard(TestStream.NATS_URL, stream.stream, accept)), metrics.environment());
    }

    @Test
    void theEmbeddedJobStopsForGoodOnAGapAndContinuesWithTheFlag() throws Exception {
        try (JobFixture ns = new JobFixture(tmp); EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "512m", Map.of())) {
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            runs.play(() -> {
                stream.publishMetrics("before-", 50);
                Process job = runs.start("run-1.log");
                runs.awaitWhileRunning(job, "run-1.log", "50 events committed", Duration.ofSeconds(120),
                        () -> ch.queryLong("SELECT count() FROM events") >= 50);
                job.destroyForcibly().waitFor();

                stream.publishMetrics("lost-", 20); // published, then gone before the job read them
                stream.connection().jetStreamManagement().purgeStream(stream.stream);
                stream.publishMetrics("after-", 10);

                job = runs.start("run-2.log");
                assertThat(job.waitFor(120, TimeUnit.SECONDS)).as("the job stops by itself; log:\n%s", runs.log("run-2.log")).isTrue();
                assertThat(job.exitValue()).isNotZero();
                assertThat(runs.log("run-2.log")).contains("no longer holds messages the job had not read")
                        .contains("ACCEPT_STREAM_GAP=true");
                assertThat(ch.queryLong("SELECT count() FROM events FINAL WHERE event_id LIKE 'after-%'"))
                        .as("nothing after the gap was processed silently").isZero();

                runs.start("run-3.log", ConfigKey.ACCEPT_STREAM_GAP.name() + "=true");
                await().atMost(Duration.ofSeconds(120)).until(
                        () -> ch.queryLong("SELECT count() FROM events FINAL WHERE event_id LIKE 'after-%'") == 10);
                await().atMost(Duration.ofSeconds(30)).until(
                        () -> ch.queryLong("SELECT count() FROM dead_letters FINAL WHERE error LIKE 'stream gap%'") == 1);
                JsonNode gap = ch.query("SELECT stream_seq, error FROM dead_letters FINAL WHERE error LIKE 'stream gap%'").get(0);
                assertThat(gap.get("stream_seq").asLong()).isEqualTo(51);
                assertThat(gap.get("error").asText()).contains("51..70");
            });
        }
    }
}
