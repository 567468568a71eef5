package io.csr.job.sink.clickhouse.writer;

/**
 * Writer state of the ClickHouse sink: deliberately empty. Every buffered row is sealed into a committable at the
 * checkpoint barrier, before the writer's state is taken, so nothing is left to keep. The sink is a
 * {@code SupportsWriterState} sink only because that is how Flink tells a writer the id of the checkpoint it just
 * prepared ({@code snapshotState(checkpointId)}), which labels the next checkpoint's batches in the commit ledger.
 */
public final class ClickHouseWriterState {
    public static final ClickHouseWriterState EMPTY = new ClickHouseWriterState();

    private ClickHouseWriterState() {
    }
}
