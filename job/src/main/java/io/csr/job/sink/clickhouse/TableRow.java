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

    public TableRow() {
    }

    public TableRow(String table, String json) {
        this.table = table;
        this.json = json;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableRow && Objects.equals(table, ((TableRow) o).table) && Objects.equals(json, ((TableRow) o).json);
    }

    @Override
    public int hashCode() {
        return Objects.hash(table, json);
    }

    @Override
    public String toString() {
        return "TableRow{" + table + " " + json + "}";
    }
}
