package io.csr.job.aggregate;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.ByteArrayInput;
import com.datadoghq.sketch.ddsketch.encoding.GrowingByteArrayOutput;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * State serializer of {@link WindowAccumulator}. Each record starts with a format byte so later versions can read
 * older state; the sketch is stored in DDSketch's own compact binary encoding (index mapping included), length-prefixed.
 * Used instead of Kryo so a checkpoint never depends on DDSketch's private fields.
 */
public final class WindowAccumulatorSerializer extends TypeSerializerSingleton<WindowAccumulator> {
    private static final long serialVersionUID = 1L;
    public static final WindowAccumulatorSerializer INSTANCE = new WindowAccumulatorSerializer();
    static final byte FORMAT_V1 = 1;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public WindowAccumulator createInstance() {
        return new WindowAccumulator();
    }

    @Override
    public WindowAccumulator copy(WindowAccumulator from) {
        return from.copy();
    }

    @Override
    public WindowAccumulator copy(WindowAccumulator from, WindowAccumulator reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(WindowAccumulator acc, DataOutputView out) throws IOException {
        out.writeByte(FORMAT_V1);
        out.writeLong(acc.count);
        out.writeDouble(acc.sum);
        out.writeDouble(acc.min);
        out.writeDouble(acc.max);
        out.writeDouble(acc.mean);
        out.writeDouble(acc.m2);
        out.writeLong(acc.version);
        out.writeBoolean(acc.dirty);
        out.writeBoolean(acc.finalFired);
        GrowingByteArrayOutput sketchBytes = GrowingByteArrayOutput.withDefaultInitialCapacity();
        acc.sketch.encode(sketchBytes, false);
        out.writeInt(sketchBytes.numWrittenBytes());
        out.write(sketchBytes.backingArray(), 0, sketchBytes.numWrittenBytes());
    }

    @Override
    public WindowAccumulator deserialize(DataInputView in) throws IOException {
        byte format = in.readByte();
        if (format != FORMAT_V1) {
            throw new IOException("window accumulator state has format " + format + ", this job reads " + FORMAT_V1
                    + "; restore with the job version that wrote this checkpoint");
        }
        WindowAccumulator acc = new WindowAccumulator();
        acc.count = in.readLong();
        acc.sum = in.readDouble();
        acc.min = in.readDouble();
        acc.max = in.readDouble();
        acc.mean = in.readDouble();
        acc.m2 = in.readDouble();
        acc.version = in.readLong();
        acc.dirty = in.readBoolean();
        acc.finalFired = in.readBoolean();
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        acc.sketch = DDSketch.decode(ByteArrayInput.wrap(bytes), WindowAccumulator.STORE);
        return acc;
    }

    @Override
    public WindowAccumulator deserialize(WindowAccumulator reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<WindowAccumulator> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores this serializer on checkpoint/savepoint restore. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<WindowAccumulator> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
