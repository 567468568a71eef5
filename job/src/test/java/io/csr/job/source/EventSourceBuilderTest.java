package io.csr.job.source;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.model.RawMessage;
import io.synadia.flink.source.AckBehavior;
import io.synadia.flink.source.JetStreamSource;
import io.synadia.flink.source.JetStreamSubjectConfiguration;
import org.apache.flink.api.connector.source.Boundedness;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventSourceBuilderTest {
    private static final String TEST_PREFIX = "it_ab12.";

    @Test
    void oneSplitPerSubjectFamilyUnderThePrefix() {
        JetStreamSource<?> source = new EventSourceBuilder().streamName("IT_AB12").subjectPrefix(TEST_PREFIX).connectorSource();
        assertThat(new EventSourceBuilder().streamName("IT_AB12").build()).as("the job reads through the bounded reader")
                .isInstanceOf(BoundedJetStreamSource.class);

        assertThat(source.getBoundedness()).isEqualTo(Boundedness.CONTINUOUS_UNBOUNDED);
        assertThat(source.configById.values()).extracting(c -> c.subject)
                .containsExactlyInAnyOrder("it_ab12.metrics.>", "it_ab12.journey.>", "it_ab12.q2q.>");
        for (JetStreamSubjectConfiguration c : source.configById.values()) {
            assertThat(c.streamName).isEqualTo("IT_AB12");
            assertThat(c.ackBehavior).as("positions live in checkpoints, not in server acks").isEqualTo(AckBehavior.NoAck);
        }
    }

    @Test
    void readsItsSettingsFromConfig() {
        CsrConfig config = CsrConfig.of(Map.of(ConfigKey.NATS_STREAM.name(), "S1", ConfigKey.NATS_SUBJECT_PREFIX.name(), "p.",
                ConfigKey.NATS_URL.name(), "nats://10.0.0.1:4333"));

        assertThat(EventSourceBuilder.fromConfig(config).subjectFilters()).containsExactly("p.metrics.>", "p.journey.>", "p.q2q.>");
        assertThat(EventSourceBuilder.fromConfig(CsrConfig.of(Map.of())).subjectFilters())
                .containsExactly("metrics.>", "journey.>", "q2q.>");
    }

    @Test
    void rejectsBadSettingsNamingTheValue() {
        assertThatThrownBy(() -> new EventSourceBuilder().natsUrl("http://x").build()).hasMessageContaining("http://x");
        assertThatThrownBy(() -> new EventSourceBuilder().streamName("a.b").build()).hasMessageContaining("'a.b'");
        assertThatThrownBy(() -> new EventSourceBuilder().subjectPrefix("noDot").build()).hasMessageContaining("noDot");
        assertThatThrownBy(() -> new EventSourceBuilder().batchSize(0).build()).hasMessageContaining("NATS_SOURCE_BATCH_SIZE=0");
        assertThatThrownBy(() -> new EventSourceBuilder().families(List.of("orders")).build()).hasMessageContaining("orders");
    }

    @Test
    void strippingRemovesOnlyTheConfiguredPrefix() {
        StripSubjectPrefix strip = new EventSourceBuilder().subjectPrefix(TEST_PREFIX).prefixStripper();

        assertThat(strip.strip(message("it_ab12.metrics.sroi")).subject).isEqualTo("metrics.sroi");
        assertThat(strip.strip(message("other.metrics.sroi")).subject).isEqualTo("other.metrics.sroi");
        assertThat(new StripSubjectPrefix("").strip(message("q2q.clarity")).subject).isEqualTo("q2q.clarity");
    }

    private static RawMessage message(String subject) {
        return new RawMessage("S", subject, 1, 0, new byte[0]);
    }
}
