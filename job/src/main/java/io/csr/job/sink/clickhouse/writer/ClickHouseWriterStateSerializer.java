package io.csr.job.sink.clickhouse.writer;

import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;

/** Version 1: the (empty) writer state is zero bytes. */
public final class ClickHouseWriterStateSerializer implements SimpleVersionedSerializer<ClickHouseWriterState> {
    private static final int VERSION_1 = 1;

    @Override
    public int getVersion() {
        return VERSION_1;
    }

    @Override
    public byte[] serialize(ClickHouseWriterState state) {
        return new byte[0];
    }

    @Override
    public ClickHouseWriterState deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION_1 || serialized.length != 0) {
            throw new IOException("unexpected ClickHouse sink writer state: version " + version + ", " + serialized.length
                    + " bytes; this build writes and reads version " + VERSION_1 + " with 0 bytes");
        }
        return ClickHouseWriterState.EMPTY;
    }
}
