package io.csr.job.sink.clickhouse;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClickHouseCommittableSerializerTest {
    /** Written by version 1 of the serializer and committed; must stay readable by every later version. */
    static final String V1_RESOURCE = "/sink/clickhouse/committable-v1.bin";

    /** What {@link #V1_RESOURCE} holds. */
    static final ClickHouseCommittable V1_FIXTURE = new ClickHouseCommittable(
            "csr-clickhouse", "a1b2c3d4e5f60718293a4b5c6d7e8f90", "5d0f3c2e-8a41-4d6b-9f3e-2b7c1a0e9d84", 1, 42L, 3,
            "metrics_timeseries", 1_795_000_000_123L, 2,
            ("{\"company_id\":\"acme\",\"metric\":\"sroi\",\"value\":1.5,\"event_id\":\"e-1\"}\n"
                    + "{\"company_id\":\"Zürich-東京\",\"metric\":\"vis\",\"value\":-0.25,\"event_id\":\"e-2 😀\"}\n")
                    .getBytes(StandardCharsets.UTF_8));

    /** Written by version 2 of the serializer and committed; must stay readable by every later version. */
    static final String V2_RESOURCE = "/sink/clickhouse/committable-v2.bin";

    /** What {@link #V2_RESOURCE} holds: the same batch as {@link #V1_FIXTURE}, stored LZ4-compressed. */
    static final ClickHouseCommittable V2_FIXTURE = compressed(V1_FIXTURE);

    final ClickHouseCommittableSerializer serializer = new ClickHouseCommittableSerializer();

    static ClickHouseCommittable compressed(ClickHouseCommittable plain) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream lz4 = ClickHouseCommittable.Encoding.LZ4_BLOCKS.encoder(out)) {
            lz4.write(plain.payload());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ClickHouseCommittable(plain.sinkId(), plain.jobId(), plain.writerId(), plain.subtask(),
                plain.checkpointId(), plain.batch(), plain.table(), plain.preparedAtMs(), plain.rows(),
                ClickHouseCommittable.Encoding.LZ4_BLOCKS, plain.bodyBytes(), out.toByteArray());
    }

    @Test
    void roundTripsEveryField() throws IOException {
        for (ClickHouseCommittable c : new ClickHouseCommittable[] {V1_FIXTURE, V2_FIXTURE}) {
            byte[] bytes = serializer.serialize(c);
            ClickHouseCommittable back = serializer.deserialize(serializer.getVersion(), bytes);

            assertThat(back).isEqualTo(c);
            assertThat(back.toString()).isEqualTo(c.toString());
            assertThat(back.ledgerKey()).isEqualTo(c.ledgerKey());
            assertThat(back.payload()).isEqualTo(V1_FIXTURE.payload());
        }
    }

    @Test
    void compressedBodyDecodesToTheRowsAndNamesBothSizes() throws IOException {
        assertThat(V2_FIXTURE.encoding()).isEqualTo(ClickHouseCommittable.Encoding.LZ4_BLOCKS);
        assertThat(V2_FIXTURE.bodyBytes()).isEqualTo(V1_FIXTURE.payload().length);
        try (var in = V2_FIXTURE.openBody()) {
            assertThat(in.readAllBytes()).isEqualTo(V1_FIXTURE.payload());
        }
        assertThat(V2_FIXTURE.toString()).contains("bytes=" + V1_FIXTURE.payload().length + " (")
                .contains("LZ4_BLOCKS").doesNotContain("acme");
    }

    @Test
    void aCorruptCompressedBodyFailsLoudly() {
        byte[] stored = V2_FIXTURE.stored().clone();
        stored[stored.length / 2] ^= 0x55;
        ClickHouseCommittable bad = new ClickHouseCommittable("s", "j", "w", 0, 1, 0, "events", 0, 2,
                ClickHouseCommittable.Encoding.LZ4_BLOCKS, V2_FIXTURE.bodyBytes(), stored);
        assertThatThrownBy(bad::payload).isInstanceOf(UncheckedIOException.class).hasMessageContaining("corrupt");
    }

    @Test
    void roundTripsAnEmptyAndALargePayload() throws IOException {
        for (int size : new int[] {0, 5 * 1024 * 1024}) {
            byte[] payload = new byte[size];
            Arrays.fill(payload, (byte) 'x');
            ClickHouseCommittable c = new ClickHouseCommittable("s", "j", "w", 0, 1, 0, "events", 0, 0, payload);
            assertThat(serializer.deserialize(2, serializer.serialize(c))).isEqualTo(c);
            assertThat(serializer.deserialize(2, serializer.serialize(compressed(c))).payload()).isEqualTo(payload);
        }
    }

    @Test
    void readsBytesWrittenByVersion1() throws IOException {
        byte[] v1;
        try (InputStream in = getClass().getResourceAsStream(V1_RESOURCE)) {
            assertThat(in).as("test resource %s", V1_RESOURCE).isNotNull();
            v1 = in.readAllBytes();
        }
        assertThat(serializer.deserialize(ClickHouseCommittableSerializer.VERSION_1, v1)).isEqualTo(V1_FIXTURE);
    }

    @Test
    void readsBytesWrittenByVersion2() throws IOException {
        try (InputStream in = getClass().getResourceAsStream(V2_RESOURCE)) {
            assertThat(in).as("test resource %s", V2_RESOURCE).isNotNull();
            ClickHouseCommittable back = serializer.deserialize(ClickHouseCommittableSerializer.VERSION_2, in.readAllBytes());
            assertThat(back).isEqualTo(V2_FIXTURE);
            assertThat(back.payload()).isEqualTo(V1_FIXTURE.payload());
        }
    }

    @Test
    void version2IsStillWhatThisBuildWrites() throws IOException {
        // When this fails, the format changed: bump the version and keep reading versions 1 and 2 (see the class comment).
        try (InputStream in = getClass().getResourceAsStream(V2_RESOURCE)) {
            assertThat(serializer.getVersion()).isEqualTo(ClickHouseCommittableSerializer.VERSION_2);
            assertThat(serializer.serialize(V2_FIXTURE)).isEqualTo(in.readAllBytes());
        }
    }

    @Test
    void rejectsAnUnknownVersionAndATruncatedPayload() throws IOException {
        byte[] bytes = serializer.serialize(V2_FIXTURE);
        assertThatThrownBy(() -> serializer.deserialize(3, bytes))
                .isInstanceOf(IOException.class).hasMessageContaining("version 3");
        assertThatThrownBy(() -> serializer.deserialize(2, Arrays.copyOf(bytes, bytes.length - 1)))
                .isInstanceOf(IOException.class).hasMessageContaining("corrupt");
        byte[] v1 = serializer.serialize(V1_FIXTURE);
        assertThatThrownBy(() -> serializer.deserialize(1, v1))
                .as("version 2 bytes read as version 1").isInstanceOf(IOException.class).hasMessageContaining("corrupt");
    }
}
