package io.csr.job.sink.clickhouse;

import io.csr.job.model.WireSerializer;
import io.csr.job.model.WireStrings;
import io.csr.job.model.WireTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Wire form of {@link TableRow} on its way to the sink writer: table, partition, the JSON line as UTF-8 bytes (copied
 * in bulk, and kept on the row so the writer need not encode it again). TableRow is never kept in state, so this
 * format may change between releases.
 */
public final class TableRowSerializer extends WireSerializer<TableRow> {
    private static final long serialVersionUID = 1L;
    public static final TableRowSerializer INSTANCE = new TableRowSerializer();

    /** Named by {@code @TypeInfo} on {@link TableRow}. */
    public static final class Factory extends TypeInfoFactory<TableRow> {
        @Override
        public TypeInformation<TableRow> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new WireTypeInfo<>(TableRow.class, INSTANCE);
        }
    }

    @Override
    public TableRow createInstance() {
        return new TableRow();
    }

    @Override
    public TableRow copy(TableRow from) {
        return new TableRow(from.table, from.json, from.partition);
    }

    @Override
    public void serialize(TableRow row, DataOutputView out) throws IOException {
        WireStrings.write(row.table, out);
        out.writeInt(row.partition);
        if (row.json == null) {
            out.writeInt(-1);
        } else {
            WireStrings.writeBytes(row.utf8(), out);
        }
    }

    @Override
    public TableRow deserialize(DataInputView in) throws IOException {
        String table = WireStrings.read(in);
        int partition = in.readInt();
        byte[] utf8 = WireStrings.readBytes(in);
        TableRow row = new TableRow(table, utf8 == null ? null : new String(utf8, StandardCharsets.UTF_8), partition);
        if (utf8 != null) {
            row.utf8(utf8, row.json);
        }
        return row;
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        WireStrings.copy(in, out);
        out.writeInt(in.readInt());
        WireStrings.copy(in, out);
    }

    @Override
    public TypeSerializerSnapshot<TableRow> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Serializer snapshot (Flink asks every serializer for one). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<TableRow> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
