package io.csr.job.model;

import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.TableRowSerializer;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class WireSerializersTest {
    static CsrEvent event() {
        CsrEvent e = new CsrEvent();
        e.eventId = "e-1 😀";
        e.kind = EventKind.Q2Q;
        e.companyId = "acme";
        e.userId = null;
        e.occurredAtMs = 1_795_000_000_123L;
        e.name = "q2q_clarity";
        e.value = -0.25;
        e.flag = true;
        e.subject = "q2q.clarity";
        e.streamSeq = 42;
        e.payload = "{\"companyId\":\"Zürich-東京\"}";
        return e;
    }

    static <T> T roundTrip(TypeSerializer<T> serializer, T value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(16);
        serializer.serialize(value, out);
        serializer.serialize(value, out);
        byte[] twice = out.getCopyOfBuffer();

        // copy(in, out) moves exactly one record, byte for byte
        DataOutputSerializer copied = new DataOutputSerializer(16);
        DataInputDeserializer in = new DataInputDeserializer(twice);
        serializer.copy(in, copied);
        assertThat(copied.getCopyOfBuffer()).hasSize(twice.length / 2);
        assertThat(serializer.deserialize(in)).isEqualTo(value);
        assertThat(in.available()).isZero();
        return serializer.deserialize(new DataInputDeserializer(copied.getCopyOfBuffer()));
    }

    @Test
    void csrEventRoundTripsEveryFieldNullsAndUnicodeIncluded() throws IOException {
        CsrEvent e = event();
        CsrEvent back = roundTrip(CsrEventSerializer.INSTANCE, e);
        assertThat(back).isEqualTo(e).isNotSameAs(e);
        assertThat(back.userId).isNull();
        assertThat(back.flag).isTrue();
        assertThat(roundTrip(CsrEventSerializer.INSTANCE, new CsrEvent())).isEqualTo(new CsrEvent());
        assertThat(CsrEventSerializer.INSTANCE.copy(e)).isEqualTo(e).isNotSameAs(e);
    }

    @Test
    void tableRowRoundTripsAndHandsTheWriterTheBytesItCameIn() throws IOException {
        TableRow row = new TableRow("events", "{\"company_id\":\"Zürich-東京\",\"v\":1}", 202611);
        TableRow back = roundTrip(TableRowSerializer.INSTANCE, row);
        assertThat(back).isEqualTo(row);
        assertThat(back.utf8()).isEqualTo(row.json.getBytes(StandardCharsets.UTF_8));
        back.json = "{\"changed\":true}";
        assertThat(back.utf8()).as("a changed line is encoded afresh").isEqualTo("{\"changed\":true}".getBytes(StandardCharsets.UTF_8));
        assertThat(roundTrip(TableRowSerializer.INSTANCE, new TableRow())).isEqualTo(new TableRow());
    }

    @Test
    void flinkPicksTheWireSerializersForBothTypes() {
        assertThat(TypeInformation.of(CsrEvent.class)).isInstanceOf(WireTypeInfo.class);
        assertThat(TypeInformation.of(TableRow.class)).isInstanceOf(WireTypeInfo.class);
        assertThat(TypeInformation.of(CsrEvent.class).createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl()))
                .isSameAs(CsrEventSerializer.INSTANCE);
    }
}
