package io.csr.job.sink.clickhouse;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;

/**
 * Versioned binary form of {@link ClickHouseCommittable} in Flink's checkpoints. A checkpoint or savepoint written by
 * one release must be readable by the next: never change what version 1 means; add version 2 beside it and keep
 * reading 1 (the test decodes bytes written by version 1 from a committed file).
 *
 * <p>Version 1: sinkId, jobId, writerId (modified UTF-8), subtask int, checkpointId long, batch int, table (UTF),
 * preparedAtMs long, rows int, payload length int, payload bytes (the plain JSONEachRow body).
 * <p>Version 2: as version 1 up to rows, then encoding byte ({@link ClickHouseCommittable.Encoding#id}), decoded body
 * length int, stored length int, stored bytes.
 */
public final class ClickHouseCommittableSerializer implements SimpleVersionedSerializer<ClickHouseCommittable> {
    public static final int VERSION_1 = 1;
    public static final int VERSION_2 = 2;
    private static final int CURRENT = VERSION_2;

    @Override
    public int getVersion() {
        return CURRENT;
    }

    @Override
    public byte[] serialize(ClickHouseCommittable c) throws IOException {
        byte[] stored = c.stored();
        DataOutputSerializer out = new DataOutputSerializer(256); // the header; the stored bytes are copied once, below
        out.writeUTF(c.sinkId());
        out.writeUTF(c.jobId());
        out.writeUTF(c.writerId());
        out.writeInt(c.subtask());
        out.writeLong(c.checkpointId());
        out.writeInt(c.batch());
        out.writeUTF(c.table());
        out.writeLong(c.preparedAtMs());
        out.writeInt(c.rows());
        out.writeByte(c.encoding().id);
        out.writeInt(c.bodyBytes());
        out.writeInt(stored.length);
        byte[] bytes = new byte[out.length() + stored.length];
        System.arraycopy(out.getSharedBuffer(), 0, bytes, 0, out.length());
        System.arraycopy(stored, 0, bytes, out.length(), stored.length);
        return bytes;
    }

    @Override
    public ClickHouseCommittable deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION_1 && version != VERSION_2) {
            throw new IOException("cannot read a ClickHouse sink committable of serializer version " + version
                    + "; this build reads versions " + VERSION_1 + " and " + VERSION_2
                    + ". Restore the checkpoint with the release that wrote it.");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        String sinkId = in.readUTF();
        String jobId = in.readUTF();
        String writerId = in.readUTF();
        int subtask = in.readInt();
        long checkpointId = in.readLong();
        int batch = in.readInt();
        String table = in.readUTF();
        long preparedAtMs = in.readLong();
        int rows = in.readInt();
        ClickHouseCommittable.Encoding encoding = ClickHouseCommittable.Encoding.PLAIN;
        int bodyBytes = -1;
        if (version == VERSION_2) {
            encoding = ClickHouseCommittable.Encoding.of(in.readUnsignedByte());
            bodyBytes = in.readInt();
        }
        int length = in.readInt();
        if (length < 0 || length != in.available()) {
            throw new IOException("corrupt ClickHouse sink committable: payload length " + length + " but "
                    + in.available() + " bytes remain");
        }
        byte[] stored = new byte[length];
        in.readFully(stored);
        try {
            return new ClickHouseCommittable(sinkId, jobId, writerId, subtask, checkpointId, batch, table, preparedAtMs,
                    rows, encoding, bodyBytes < 0 ? length : bodyBytes, stored);
        } catch (IllegalArgumentException e) {
            throw new IOException("corrupt ClickHouse sink committable: " + e.getMessage(), e);
        }
    }
}
