package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.pipeline.TestMetrics;
import org.apache.flink.streaming.api.operators.StreamMap;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class StripSubjectPrefixTest {
    private static final String PREFIX = "it_ab12.";

    @Test
    void stripsThePrefixAndCountsEveryMessageRead() throws Exception {
        try (TestMetrics metrics = new TestMetrics();
             OneInputStreamOperatorTestHarness<RawMessage, RawMessage> harness =
                     new OneInputStreamOperatorTestHarness<>(new StreamMap<>(new StripSubjectPrefix(PREFIX)), metrics.environment())) {
            harness.open();
            harness.processElement(message("it_ab12.metrics.sroi", 7), 0);
            harness.processElement(message("elsewhere.q2q.clarity", 8), 0);

            assertThat(harness.extractOutputValues()).extracting(m -> m.subject)
                    .containsExactly("metrics.sroi", "elsewhere.q2q.clarity");
            assertThat(harness.extractOutputValues()).extracting(m -> m.streamSeq).containsExactly(7L, 8L);
            assertThat(metrics.count("messagesRead")).isEqualTo(2);
        }
    }

    private static RawMessage message(String subject, long seq) {
        return new RawMessage("IT_AB12", subject, seq, 1_795_000_000_000L, "{}".getBytes(StandardCharsets.UTF_8));
    }
}
