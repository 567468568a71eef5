package io.csr.job.sink.clickhouse;

import org.apache.flink.api.common.typeinfo.TypeInfo;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One row for one ClickHouse table, already rendered as a JSONEachRow line (no trailing newline). The exactly-once
 * sink groups rows by table and inserts them after the checkpoint that covers them completes. Travels to the sink in
 * {@link TableRowSerializer}'s form (never in state), which hands the writer the line's UTF-8 bytes as they arrived.
 */
@TypeInfo(TableRowSerializer.Factory.class)
public class TableRow {
    /** One of ClickHouseSinkOptions.CONTRACT_TABLES (validated identifier). */
    public String table;
    public String json;
    /**
     * The monthly partition (yyyymm) the row lands in, 0 for tables without partitions. The writer never puts rows of
     * two partitions in one INSERT: ClickHouse 24.x rejects an INSERT touching more than 100 partitions
     * (max_partitions_per_insert_block), which a backlog spread over years would otherwise produce.
     */
    public int partition;
    /** {@link #json} as UTF-8, when known; valid only while {@link #utf8Of} is still the same String as json. */
    private transient byte[] utf8;
    private transient String utf8Of;

    public TableRow() {
    }

    public TableRow(String table, String json) {
        this(table, json, 0);
    }

    public TableRow(String table, String json, int partition) {
        this.table = table;
        this.json = json;
        this.partition = partition;
    }

    /** The JSON line as UTF-8 (the bytes it arrived in, when it came through {@link TableRowSerializer}). */
    public byte[] utf8() {
        if (utf8 == null || utf8Of != json) {
            utf8 = json.getBytes(StandardCharsets.UTF_8);
            utf8Of = json;
        }
        return utf8;
    }

    void utf8(byte[] bytes, String of) {
        this.utf8 = bytes;
        this.utf8Of = of;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableRow && Objects.equals(table, ((TableRow) o).table) && Objects.equals(json, ((TableRow) o).json)
                && partition == ((TableRow) o).partition;
    }

    @Override
    public int hashCode() {
        return Objects.hash(table, json, partition);
    }

    @Override
    public String toString() {
        return "TableRow{" + table + " " + json + "}";
    }
}
