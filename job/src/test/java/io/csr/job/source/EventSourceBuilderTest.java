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
    void withPartitionsOneSplitPerPartitionAndFamilyPlusTheOriginalSubjects() {
        EventSourceBuilder builder = EventSourceBuilder.fromConfig(CsrConfig.of(Map.of(ConfigKey.NATS_SUBJECT_PREFIX.name(), "p.",
                ConfigKey.NATS_PARTITIONS.name(), "2")));
        assertThat(builder.subjectFilters()).as("partition-major, so reader i mod n gets a metrics partition each")
                .containsExactly("p.metrics.0.*", "p.journey.0.*", "p.q2q.0.*", "p.metrics.1.*", "p.journey.1.*", "p.q2q.1.*",
                        "p.metrics.*", "p.journey.*", "p.q2q.*");
        assertThat(builder.build().splitCount()).isEqualTo(9);
        assertThat(new EventSourceBuilder().build().splitCount()).isEqualTo(3);

        SplitLayout layout = new SplitLayout("S", "p.", EventSourceBuilder.FAMILIES, 2, 10);
        assertThat(List.of("p.metrics.sroi", "p.metrics.0.sroi", "p.q2q.1.clarity")).allMatch(layout::covers);
        assertThat(List.of("p.metrics.2.sroi", "p.metrics.x.sroi", "p.metrics.01.sroi", "p.metrics.0.sroi.x", "metrics.0.sroi"))
                .as("strays: read through splits of their own").noneMatch(layout::covers);
        assertThat(new SplitLayout("S", "p.", EventSourceBuilder.FAMILIES, 1, 10).covers("p.metrics.x.y.z")).as("metrics.> reads all").isTrue();
    }

    @Test
    void anEnumeratorCheckpointOfTheConnectorsFormatReadsAsOnePartition() throws Exception {
        var splits = new SplitLayout("S", "", EventSourceBuilder.FAMILIES, 1, 10).splits();
        byte[] old = new io.synadia.flink.source.split.JetStreamCheckpointSerializer().serialize(splits);
        SourceEnumState.Serializer serializer = new SourceEnumState.Serializer();
        SourceEnumState restored = serializer.deserialize(1, old);
        assertThat(restored.partitions()).isEqualTo(1);
        assertThat(restored.unassigned()).extracting(s -> s.subjectConfig.subject).containsExactly("metrics.>", "journey.>", "q2q.>");

        SourceEnumState state = new SourceEnumState(4, splits.subList(0, 1), java.util.Set.of("metrics.x.sroi"));
        SourceEnumState again = serializer.deserialize(serializer.getVersion(), serializer.serialize(state));
        assertThat(again.partitions()).isEqualTo(4);
        assertThat(again.strays()).containsExactly("metrics.x.sroi");
        assertThat(again.unassigned()).extracting(s -> s.subjectConfig.subject).containsExactly("metrics.>");
        assertThat(BoundedJetStreamSource.partitionsChanged(1, 4)).contains("written with NATS_PARTITIONS=1 but this job has NATS_PARTITIONS=4")
                .contains("Set NATS_PARTITIONS=1 to resume from it");
    }

    @Test
    void rejectsBadSettingsNamingTheValue() {
        assertThatThrownBy(() -> new EventSourceBuilder().natsUrl("http://x").build()).hasMessageContaining("http://x");
        assertThatThrownBy(() -> new EventSourceBuilder().streamName("a.b").build()).hasMessageContaining("'a.b'");
        assertThatThrownBy(() -> new EventSourceBuilder().subjectPrefix("noDot").build()).hasMessageContaining("noDot");
        assertThatThrownBy(() -> new EventSourceBuilder().batchSize(0).build()).hasMessageContaining("NATS_SOURCE_BATCH_SIZE=0");
        assertThatThrownBy(() -> new EventSourceBuilder().partitions(0).build()).hasMessageContaining("NATS_PARTITIONS=0 must be within [1, 256]");
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
