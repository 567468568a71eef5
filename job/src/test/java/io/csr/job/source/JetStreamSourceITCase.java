package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The JetStream source against the real NATS server: reads the three subject families in parallel, hands on stream
 * sequence, timestamp and payload with the prefix removed, and after a stop-with-savepoint and restore continues
 * exactly after the checkpointed sequences (no message twice, none missing).
 */
class JetStreamSourceITCase {
    private static final int PER_FAMILY = 200;
    private static final Queue<RawMessage> SEEN = new ConcurrentLinkedQueue<>();

    @TempDir
    Path tmp;
    private TestStream stream;

    @BeforeEach
    void setUp() throws Exception {
        SEEN.clear();
        stream = new TestStream();
    }

    @AfterEach
    void tearDown() throws Exception {
        stream.close();
    }

    @Test
    void readsAllFamiliesAndResumesAfterTheSavepointedSequence() throws Exception {
        List<Long> published = new ArrayList<>();
        publishBatch(0, published);

        JobClient first = start(null);
        await().atMost(Duration.ofSeconds(60)).until(() -> SEEN.size() >= published.size());
        String savepoint = first.stopWithSavepoint(false, tmp.resolve("sp").toUri().toString(), SavepointFormatType.CANONICAL)
                .get(60, TimeUnit.SECONDS);
        int beforeRestore = SEEN.size();

        publishBatch(1, published);
        JobClient second = start(savepoint);
        await().atMost(Duration.ofSeconds(60)).until(() -> SEEN.size() >= published.size());
        Thread.sleep(1000); // a moment for any duplicate to show up (a non-event; nothing else to await)
        second.cancel().get(30, TimeUnit.SECONDS);

        assertThat(beforeRestore).isEqualTo(3 * PER_FAMILY);
        assertThat(SEEN).extracting(m -> m.streamSeq).containsExactlyInAnyOrderElementsOf(published);
        assertThat(SEEN).allSatisfy(m -> {
            assertThat(m.stream).isEqualTo(stream.stream);
            assertThat(m.subject).matches("(metrics|journey|q2q)\\.x");
            assertThat(new String(m.payload, StandardCharsets.UTF_8)).isEqualTo("{\"seq\":" + m.streamSeq + "}");
            assertThat(m.receivedAtMs).isGreaterThan(System.currentTimeMillis() - 600_000);
        });
    }

    private void publishBatch(int batch, List<Long> published) throws Exception {
        long next = published.size() + 1;
        for (int i = 0; i < PER_FAMILY; i++) {
            for (String family : EventSourceBuilder.FAMILIES) {
                long seq = stream.publish(family + ".x", "{\"seq\":" + next + "}");
                assertThat(seq).isEqualTo(next++);
                published.add(seq);
            }
        }
    }

    private JobClient start(String savepoint) throws Exception {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, tmp.resolve("chk").toUri().toString());
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(3, conf);
        EventSourceBuilder builder = new EventSourceBuilder().natsUrl(TestStream.NATS_URL).streamName(stream.stream)
                .subjectPrefix(stream.prefix);
        env.fromSource(builder.build(), WatermarkStrategy.noWatermarks(), "nats").uid("nats-source").setParallelism(3)
                .map(builder.prefixStripper()).uid("strip-prefix")
                .addSink(new Collect()).uid("collect");
        return env.executeAsync("source-it");
    }

    private static final class Collect implements SinkFunction<RawMessage> {
        @Override
        public void invoke(RawMessage value, Context context) {
            SEEN.add(value);
        }
    }
}
