package io.csr.job.source;

import io.synadia.flink.source.split.JetStreamCheckpointSerializer;
import io.synadia.flink.source.split.JetStreamSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the source's enumerator checkpoints: the partition count the splits were cut for ({@code NATS_PARTITIONS}),
 * the splits not yet handed to a reader (the splits readers hold are in the readers' own state) and the stray subjects
 * it has already made splits for. A checkpoint written before partitions existed holds only the connector's split
 * list; it reads back as partition count 1 (one split per family, which is what that job had).
 */
record SourceEnumState(int partitions, List<JetStreamSplit> unassigned, Set<String> strays) {

    SourceEnumState {
        unassigned = List.copyOf(unassigned);
        strays = Set.copyOf(new LinkedHashSet<>(strays));
    }

    /**
     * Version 1 is the connector's own format ({@code JetStreamCheckpointSerializer}, a split list); this serializer
     * writes {@value #VERSION} and still reads 1.
     */
    static final class Serializer implements SimpleVersionedSerializer<SourceEnumState> {
        static final int VERSION = 100;
        private final JetStreamCheckpointSerializer connector = new JetStreamCheckpointSerializer();

        @Override
        public int getVersion() {
            return VERSION;
        }

        @Override
        public byte[] serialize(SourceEnumState state) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(state.partitions());
                byte[] splits = connector.serialize(state.unassigned());
                out.writeInt(splits.length);
                out.write(splits);
                out.writeInt(state.strays().size());
                for (String s : state.strays()) {
                    out.writeUTF(s);
                }
            }
            return bytes.toByteArray();
        }

        @Override
        public SourceEnumState deserialize(int version, byte[] serialized) throws IOException {
            if (version == JetStreamCheckpointSerializer.CURRENT_VERSION) {
                Collection<JetStreamSplit> splits = connector.deserialize(version, serialized);
                return new SourceEnumState(1, new ArrayList<>(splits), Set.of());
            }
            if (version != VERSION) {
                throw new IOException("the NATS source's enumerator state has version " + version + "; this job reads "
                        + JetStreamCheckpointSerializer.CURRENT_VERSION + " and " + VERSION + " (a newer job wrote it?)");
            }
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                int partitions = in.readInt();
                byte[] splits = new byte[in.readInt()];
                in.readFully(splits);
                List<JetStreamSplit> unassigned = new ArrayList<>(connector.deserialize(JetStreamCheckpointSerializer.CURRENT_VERSION, splits));
                int n = in.readInt();
                Set<String> strays = new LinkedHashSet<>();
                for (int i = 0; i < n; i++) {
                    strays.add(in.readUTF());
                }
                return new SourceEnumState(partitions, unassigned, strays);
            }
        }
    }
}
