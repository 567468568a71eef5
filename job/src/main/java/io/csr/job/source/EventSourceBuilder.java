package io.csr.job.source;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.EventSubjects;
import io.csr.job.model.RawMessage;
import io.nats.client.Options;
import io.synadia.flink.source.JetStreamSource;
import io.synadia.flink.source.JetStreamSourceBuilder;
import io.synadia.flink.source.JetStreamSubjectConfiguration;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Builds the JetStream source of Contract 1 events: with {@code NATS_PARTITIONS=1} one subject configuration (= one
 * Flink split) per subject family ({@code metrics.>}, {@code journey.>}, {@code q2q.>}), so up to three source readers
 * run in parallel; with N partitions 3 × (N + 1) splits ({@code metrics.<p>.*} per partition and {@code metrics.*}
 * for the original subjects, per family; {@link SplitLayout}).
 *
 * <p>Positions live in Flink checkpoints, not in NATS: each split is an ordered consumer ({@code AckBehavior.NoAck})
 * whose last emitted stream sequence is part of the split state; on restore the reader creates a new ordered consumer
 * starting at that sequence + 1. Nothing is acknowledged to the server, so the stream keeps its messages for replay.
 * The connector's own reader is replaced by {@link BoundedJetStreamSource}'s, which reads at most
 * {@code NATS_SOURCE_BATCH_SIZE} messages ahead per family.
 */
public final class EventSourceBuilder {
    /** The subject families of Contract 1. */
    public static final List<String> FAMILIES = EventSubjects.FAMILIES;

    private static final Pattern STREAM_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9_-]+\\.)*");

    private String natsUrl = ConfigKey.NATS_URL.defaultValue();
    private String streamName = ConfigKey.NATS_STREAM.defaultValue();
    private String subjectPrefix = "";
    private int batchSize = Integer.parseInt(ConfigKey.NATS_SOURCE_BATCH_SIZE.defaultValue());
    private List<String> families = FAMILIES;
    private int partitions = 1;

    public static EventSourceBuilder fromConfig(CsrConfig config) {
        return new EventSourceBuilder()
                .natsUrl(config.get(ConfigKey.NATS_URL))
                .streamName(config.get(ConfigKey.NATS_STREAM))
                .subjectPrefix(config.get(ConfigKey.NATS_SUBJECT_PREFIX))
                .batchSize(config.getInt(ConfigKey.NATS_SOURCE_BATCH_SIZE))
                .partitions(config.getInt(ConfigKey.NATS_PARTITIONS));
    }

    public EventSourceBuilder natsUrl(String natsUrl) {
        this.natsUrl = natsUrl;
        return this;
    }

    public EventSourceBuilder streamName(String streamName) {
        this.streamName = streamName;
        return this;
    }

    /** E.g. {@code it_ab12.}: the source reads {@code it_ab12.metrics.>} and hands on {@code metrics.…}. */
    public EventSourceBuilder subjectPrefix(String subjectPrefix) {
        this.subjectPrefix = subjectPrefix == null ? "" : subjectPrefix;
        return this;
    }

    public EventSourceBuilder batchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    /** {@code NATS_PARTITIONS}: how many partition splits per family (1 = one split per family, as before). */
    public EventSourceBuilder partitions(int partitions) {
        this.partitions = partitions;
        return this;
    }

    /** Restrict to some families (tests); default all three. */
    public EventSourceBuilder families(List<String> families) {
        this.families = List.copyOf(families);
        return this;
    }

    /** Removes {@link #subjectPrefix} from each message's subject; chained right after the source. */
    public StripSubjectPrefix prefixStripper() {
        return new StripSubjectPrefix(subjectPrefix);
    }

    /** The subject filters of the source's splits ({@link SplitLayout}). */
    public List<String> subjectFilters() {
        return layout().filters();
    }

    private SplitLayout layout() {
        return new SplitLayout(streamName, subjectPrefix, families, partitions, batchSize);
    }

    /** The source the job reads: the layout's splits through {@link BoundedJetStreamSource}'s bounded reader. */
    public BoundedJetStreamSource build() {
        JetStreamSource<RawMessage> connector = connectorSource();
        return new BoundedJetStreamSource(connector, layout(), batchSize);
    }

    /** The connector's source with one NoAck subject configuration per split (its splits and checkpoint format). */
    public JetStreamSource<RawMessage> connectorSource() {
        validate();
        SplitLayout layout = layout();
        List<JetStreamSubjectConfiguration> configs = new ArrayList<>();
        for (String filter : layout.filters()) {
            configs.add(layout.config(filter));
        }
        Properties connection = new Properties();
        connection.setProperty(Options.PROP_URL, natsUrl);
        connection.setProperty(Options.PROP_CONNECTION_NAME, "csr-job " + streamName);
        return new JetStreamSourceBuilder<RawMessage>()
                .connectionProperties(connection)
                .sourceConverter(new RawMessageConverter())
                .setSubjectConfigurations(configs)
                .build();
    }

    private void validate() {
        if (natsUrl == null || !natsUrl.matches("(nats|tls|ws|wss)://.+")) {
            throw new IllegalArgumentException("NATS_URL='" + natsUrl + "' is not a NATS URL; use e.g. nats://127.0.0.1:4222");
        }
        if (streamName == null || !STREAM_NAME.matcher(streamName).matches()) {
            throw new IllegalArgumentException("NATS_STREAM='" + streamName + "' is not a valid stream name ([A-Za-z0-9_-]{1,64})");
        }
        if (!PREFIX.matcher(subjectPrefix).matches()) {
            throw new IllegalArgumentException("NATS_SUBJECT_PREFIX='" + subjectPrefix
                    + "' must be empty or dot-terminated tokens, e.g. it_ab12.");
        }
        if (batchSize < 1 || batchSize > 10_000) {
            throw new IllegalArgumentException("NATS_SOURCE_BATCH_SIZE=" + batchSize + " must be within [1, 10000]");
        }
        if (partitions < 1 || partitions > EventSubjects.MAX_PARTITIONS) {
            throw new IllegalArgumentException("NATS_PARTITIONS=" + partitions + " must be within [1, " + EventSubjects.MAX_PARTITIONS + "]");
        }
        if (families.isEmpty() || !FAMILIES.containsAll(families)) {
            throw new IllegalArgumentException("families " + families + " must be a non-empty subset of " + FAMILIES);
        }
    }
}
