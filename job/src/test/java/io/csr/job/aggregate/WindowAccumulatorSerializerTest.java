package io.csr.job.aggregate;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WindowAccumulatorSerializerTest {
    private static final double[] QUANTILES = {0.0, 0.5, 0.75, 0.95, 1.0};

    private static WindowAccumulator filled(int n) {
        WindowAccumulator acc = new WindowAccumulator();
        Random random = new Random(7);
        for (int i = 0; i < n; i++) {
            acc.add(random.nextGaussian() * 100);
        }
        acc.add(0.0);
        acc.version = 17;
        acc.finalFired = true;
        return acc;
    }

    private static byte[] bytes(WindowAccumulator acc) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        WindowAccumulatorSerializer.INSTANCE.serialize(acc, out);
        return out.getCopyOfBuffer();
    }

    @Test
    void roundTripKeepsStatisticsSketchAndBookkeeping() throws IOException {
        WindowAccumulator acc = filled(5_000);
        WindowAccumulator back = WindowAccumulatorSerializer.INSTANCE.deserialize(new DataInputDeserializer(bytes(acc)));

        assertThat(back.count()).isEqualTo(acc.count());
        assertThat(back.sum()).isEqualTo(acc.sum());
        assertThat(back.min()).isEqualTo(acc.min());
        assertThat(back.max()).isEqualTo(acc.max());
        assertThat(back.stddev()).isEqualTo(acc.stddev());
        assertThat(back.version()).isEqualTo(17);
        assertThat(back.finalFired()).isTrue();
        assertThat(back.dirty()).isTrue();
        assertThat(back.quantiles(QUANTILES)).containsExactly(acc.quantiles(QUANTILES));

        back.add(1e6); // the restored sketch keeps accepting and merging
        assertThat(back.quantiles(1.0)[0]).isCloseTo(1e6, org.assertj.core.api.Assertions.within(1e6 * 0.005));
        assertThat(bytes(acc).length).as("sketch stays compact").isLessThan(20_000);
    }

    @Test
    void copyIsDeep() {
        WindowAccumulator acc = filled(100);
        WindowAccumulator copy = WindowAccumulatorSerializer.INSTANCE.copy(acc);
        copy.add(1e9);
        assertThat(acc.max()).isLessThan(1e9);
        assertThat(acc.quantiles(1.0)[0]).isLessThan(1e8);
    }

    @Test
    void emptyAccumulatorRoundTrips() throws IOException {
        WindowAccumulator back = WindowAccumulatorSerializer.INSTANCE.deserialize(
                new DataInputDeserializer(bytes(new WindowAccumulator())));
        assertThat(back.count()).isZero();
        assertThat(back.quantiles(0.5)).containsExactly(0.0);
    }

    @Test
    void snapshotRestoresACompatibleSerializer() throws IOException {
        TypeSerializerSnapshot<WindowAccumulator> snapshot = WindowAccumulatorSerializer.INSTANCE.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        TypeSerializerSnapshot<WindowAccumulator> read = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());

        TypeSerializer<WindowAccumulator> restored = read.restoreSerializer();
        assertThat(restored).isSameAs(WindowAccumulatorSerializer.INSTANCE);
        assertThat(WindowAccumulatorSerializer.INSTANCE.snapshotConfiguration()
                .resolveSchemaCompatibility(read).isCompatibleAsIs()).isTrue();
    }

    @Test
    void unknownFormatIsRejectedWithAReadableError() {
        byte[] data = {99};
        assertThatThrownBy(() -> WindowAccumulatorSerializer.INSTANCE.deserialize(new DataInputDeserializer(data)))
                .hasMessageContaining("format 99");
    }
}
