package io.csr.job.model;

import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;

/**
 * Wire form of {@link CsrEvent} between tasks (the two shuffles before dedup and windows). CsrEvent is never kept in
 * state, so this format may change between releases; it is only ever read by the build that wrote it.
 */
public final class CsrEventSerializer extends WireSerializer<CsrEvent> {
    private static final long serialVersionUID = 1L;
    public static final CsrEventSerializer INSTANCE = new CsrEventSerializer();
    private static final EventKind[] KINDS = EventKind.values();

    /** Named by {@code @TypeInfo} on {@link CsrEvent}. */
    public static final class Factory extends TypeInfoFactory<CsrEvent> {
        @Override
        public TypeInformation<CsrEvent> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new WireTypeInfo<>(CsrEvent.class, INSTANCE);
        }
    }

    @Override
    public CsrEvent createInstance() {
        return new CsrEvent();
    }

    @Override
    public CsrEvent copy(CsrEvent from) {
        CsrEvent e = new CsrEvent();
        e.eventId = from.eventId;
        e.kind = from.kind;
        e.companyId = from.companyId;
        e.userId = from.userId;
        e.occurredAtMs = from.occurredAtMs;
        e.name = from.name;
        e.value = from.value;
        e.flag = from.flag;
        e.subject = from.subject;
        e.streamSeq = from.streamSeq;
        e.payload = from.payload;
        return e;
    }

    @Override
    public void serialize(CsrEvent e, DataOutputView out) throws IOException {
        out.writeByte(e.kind == null ? -1 : e.kind.ordinal());
        out.writeLong(e.occurredAtMs);
        out.writeDouble(e.value);
        out.writeBoolean(e.flag);
        out.writeLong(e.streamSeq);
        WireStrings.write(e.eventId, out);
        WireStrings.write(e.companyId, out);
        WireStrings.write(e.userId, out);
        WireStrings.write(e.name, out);
        WireStrings.write(e.subject, out);
        WireStrings.write(e.payload, out);
    }

    @Override
    public CsrEvent deserialize(DataInputView in) throws IOException {
        CsrEvent e = new CsrEvent();
        int kind = in.readByte();
        e.kind = kind < 0 ? null : KINDS[kind];
        e.occurredAtMs = in.readLong();
        e.value = in.readDouble();
        e.flag = in.readBoolean();
        e.streamSeq = in.readLong();
        e.eventId = WireStrings.read(in);
        e.companyId = WireStrings.read(in);
        e.userId = WireStrings.read(in);
        e.name = WireStrings.read(in);
        e.subject = WireStrings.read(in);
        e.payload = WireStrings.read(in);
        return e;
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        WireStrings.copyBytes(in, out, 1 + 8 + 8 + 1 + 8); // kind, occurredAtMs, value, flag, streamSeq
        for (int i = 0; i < 6; i++) {
            WireStrings.copy(in, out);
        }
    }

    @Override
    public TypeSerializerSnapshot<CsrEvent> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Serializer snapshot (Flink asks every serializer for one). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<CsrEvent> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
