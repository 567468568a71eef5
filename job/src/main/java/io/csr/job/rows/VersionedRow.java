package io.csr.job.rows;

import io.csr.job.sink.clickhouse.TableRow;

/**
 * What becomes one row of a ReplacingMergeTree on {@code version}: a later value of the same {@link #rowKey()} has the
 * higher version and holds everything an earlier one did.
 */
public interface VersionedRow {
    /** Identifies the ClickHouse row this value replaces (the table's sorting key). */
    String rowKey();

    long rowVersion();

    TableRow toTableRow();
}
