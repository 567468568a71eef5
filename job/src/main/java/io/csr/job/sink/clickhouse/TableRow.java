package io.csr.job.sink.clickhouse;

import java.util.Objects;

/**
 * One row for one ClickHouse table, already rendered as a JSONEachRow line (no trailing newline). The exactly-once
 * sink groups rows by table and inserts them after the checkpoint that covers them completes. Flink POJO.
 */
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
