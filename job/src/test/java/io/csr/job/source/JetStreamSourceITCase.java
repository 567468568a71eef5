package io.csr.job.source;

import io.csr.job.model.RawMessage;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
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
    private static final Queue<RawMessage> SEEN = SourceJobs.SEEN;

    @RegisterExtension
    final SourceJobs jobs = new SourceJobs();

    @Test
    void readsAllFamiliesAndResumesAfterTheSavepointedSequence() throws Exception {
        List<Long> published = new ArrayList<>();
        publishBatch(0, published);

        JobClient first = start(null);
        await().atMost(Duration.ofSeconds(60)).until(() -> SEEN.size() >= published.size());
        String savepoint = jobs.stopWithSavepoint(first, "sp");
        int beforeRestore = SEEN.size();

        publishBatch(1, published);
        JobClient second = start(savepoint);
        await().atMost(Duration.ofSeconds(60)).until(() -> SEEN.size() >= published.size());
        Thread.sleep(1000); // a moment for any duplicate to show up (a non-event; nothing else to await)
        second.cancel().get(30, TimeUnit.SECONDS);

        assertThat(beforeRestore).isEqualTo(3 * PER_FAMILY);
        assertThat(SEEN).extracting(m -> m.streamSeq).containsExactlyInAnyOrderElementsOf(published);
        assertThat(SEEN).allSatisfy(m -> {
            assertThat(m.stream).isEqualTo(jobs.stream().stream);
            assertThat(m.subject).matches("(metrics|journey|q2q)\\.x");
            assertThat(new String(m.payload, StandardCharsets.UTF_8)).isEqualTo("{\"seq\":" + m.streamSeq + "}");
            assertThat(m.receivedAtMs).isGreaterThan(System.currentTimeMillis() - 600_000);
        });
    }

    private void publishBatch(int batch, List<Long> published) throws Exception {
        long next = published.size() + 1;
        for (int i = 0; i < PER_FAMILY; i++) {
            for (String family : EventSourceBuilder.FAMILIES) {
                long seq = jobs.stream().publish(family + ".x", "{\"seq\":" + next + "}");
                assertThat(seq).isEqualTo(next++);
                published.add(seq);
            }
        }
    }

    private JobClient start(String savepoint) throws Exception {
        return jobs.start("source-it", savepoint, 3, source -> source, new Configuration());
    }
}
