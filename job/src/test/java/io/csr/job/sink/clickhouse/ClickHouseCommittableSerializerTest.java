package io.csr.job.sink.clickhouse;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
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

    final ClickHouseCommittableSerializer serializer = new ClickHouseCommittableSerializer();

    @Test
    void roundTripsEveryField() throws IOException {
        byte[] bytes = serializer.serialize(V1_FIXTURE);
        ClickHouseCommittable back = serializer.deserialize(serializer.getVersion(), bytes);

        assertThat(back).isEqualTo(V1_FIXTURE);
        assertThat(back.toString()).isEqualTo(V1_FIXTURE.toString());
        assertThat(back.ledgerKey()).isEqualTo(V1_FIXTURE.ledgerKey());
    }

    @Test
    void roundTripsAnEmptyAndALargePayload() throws IOException {
        for (int size : new int[] {0, 5 * 1024 * 1024}) {
            byte[] payload = new byte[size];
            Arrays.fill(payload, (byte) 'x');
            ClickHouseCommittable c = new ClickHouseCommittable("s", "j", "w", 0, 1, 0, "events", 0, 0, payload);
            assertThat(serializer.deserialize(1, serializer.serialize(c))).isEqualTo(c);
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
    void version1IsStillWhatThisBuildWrites() throws IOException {
        // When this fails, the format changed: bump the version and keep reading version 1 (see the class comment).
        try (InputStream in = getClass().getResourceAsStream(V1_RESOURCE)) {
            assertThat(serializer.getVersion()).isEqualTo(ClickHouseCommittableSerializer.VERSION_1);
            assertThat(serializer.serialize(V1_FIXTURE)).isEqualTo(in.readAllBytes());
        }
    }

    @Test
    void rejectsAnUnknownVersionAndATruncatedPayload() throws IOException {
        byte[] bytes = serializer.serialize(V1_FIXTURE);
        assertThatThrownBy(() -> serializer.deserialize(2, bytes))
                .isInstanceOf(IOException.class).hasMessageContaining("version 2");
        assertThatThrownBy(() -> serializer.deserialize(1, Arrays.copyOf(bytes, bytes.length - 1)))
                .isInstanceOf(IOException.class).hasMessageContaining("corrupt");
    }
}
