package io.csr.job.sink.clickhouse.writer;

import io.csr.job.sink.clickhouse.ClickHouseCommittable;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.lease.JobLease;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.InitContext;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * Buffers the rows of the current checkpoint per table and monthly partition and turns them into {@link ClickHouseCommittable} batches of at
 * most {@code batchRows} rows and {@code batchBytes} bytes. A batch is sealed as soon as the next row would overflow it,
 * and every open batch is sealed in {@link #prepareCommit()} at the checkpoint barrier, so memory holds at most one
 * checkpoint interval of rows and no row crosses a checkpoint boundary. Nothing is written to ClickHouse here.
 * Rows are LZ4-compressed as they arrive ({@link ClickHouseCommittable.Encoding#LZ4_BLOCKS}): the batch limits count
 * the rows' own bytes, while memory and checkpoints hold about a fifth of them.
 *
 * <p>Batches are labelled with the checkpoint they belong to: the restored checkpoint id + 1 at start, then the id
 * Flink passes to {@link #snapshotState(long)} + 1 (snapshotState follows prepareCommit of the same checkpoint).
 * Together with the random writer id and the batch index this makes every batch's ledger key unique.
 */
public final class ClickHouseSinkWriter implements CommittingSinkWriter<TableRow, ClickHouseCommittable>,
        StatefulSinkWriter<TableRow, ClickHouseWriterState> {
    private static final int INITIAL_BUFFER = 16 * 1024;
    private static final ClickHouseCommittable.Encoding ENCODING = ClickHouseCommittable.Encoding.LZ4_BLOCKS;

    private final ClickHouseSinkOptions options;
    private final String jobId;
    private final String writerId = UUID.randomUUID().toString();
    private final int subtask;
    private final Clock clock;
    private final Map<BufferKey, Buffer> open = new LinkedHashMap<>();
    private final List<ClickHouseCommittable> sealed = new ArrayList<>();
    private long checkpointId;
    private int nextBatch;
    private long bufferedRows;
    private long bufferedBytes;
    private JobLease lease;

    public ClickHouseSinkWriter(ClickHouseSinkOptions options, String jobId, int subtask, OptionalLong restoredCheckpointId,
                                Clock clock, MetricGroup metrics) {
        this.options = options;
        this.jobId = jobId;
        this.subtask = subtask;
        this.clock = clock;
        this.checkpointId = restoredCheckpointId.orElse(InitContext.INITIAL_CHECKPOINT_ID - 1) + 1;
        metrics.gauge("bufferedRows", (Gauge<Long>) () -> bufferedRows);
        metrics.gauge("bufferedBytes", (Gauge<Long>) () -> bufferedBytes);
    }

    /** The job's lease, held by this writer (subtask 0) until it closes; checked at every checkpoint. */
    public void holding(JobLease lease) {
        this.lease = lease;
    }

    public String writerId() {
        return writerId;
    }

    @Override
    public void write(TableRow row, Context context) {
        if (row == null || row.table == null || !options.tables().contains(row.table)) {
            throw new IllegalArgumentException("the ClickHouse sink got a row for table '" + (row == null ? null : row.table)
                    + "' but writes only " + options.tables() + "; fix the operator that emitted " + row);
        }
        if (row.json == null || row.json.isBlank()) {
            throw new IllegalArgumentException("the ClickHouse sink got an empty JSON row for table '" + row.table
                    + "'; every TableRow needs one JSONEachRow line");
        }
        byte[] line = row.utf8();
        BufferKey key = new BufferKey(row.table, row.partition);
        Buffer buffer = open.get(key);
        if (buffer == null) {
            buffer = new Buffer(row.table);
            open.put(key, buffer);
        } else if (buffer.rows >= options.batchRows() || buffer.bodyBytes + line.length + 1 > options.batchBytes()) {
            seal(buffer);
            buffer = new Buffer(row.table); // a fresh, small buffer: a full one's array goes with its committable
            open.put(key, buffer);
        }
        buffer.append(line);
        bufferedRows++;
        bufferedBytes += line.length + 1;
    }

    @Override
    public void flush(boolean endOfInput) {
        // Nothing to do: rows go out as committables in prepareCommit(), which Flink calls right after this.
    }

    /** Seals every open batch; Flink hands the result to the committer, which inserts it once the checkpoint completes. */
    @Override
    public Collection<ClickHouseCommittable> prepareCommit() {
        String lostTo = lease == null ? null : lease.lostTo();
        if (lostTo != null) {
            // our lease lapsed (PostgreSQL unreachable or the process stalled for a whole TTL) and another job took it:
            // this checkpoint's rows are not committed; the restart finds the lease taken and stops this job
            throw new IllegalStateException("this job lost its lease to another job; stopping so that one job writes: " + lostTo);
        }
        for (Buffer buffer : open.values()) {
            if (buffer.rows > 0) {
                seal(buffer);
            }
        }
        open.clear();
        List<ClickHouseCommittable> out = new ArrayList<>(sealed);
        sealed.clear();
        bufferedRows = 0;
        bufferedBytes = 0;
        return out;
    }

    /** Called after prepareCommit() of the same checkpoint: the next batches belong to a later checkpoint. */
    @Override
    public List<ClickHouseWriterState> snapshotState(long completedBarrierCheckpointId) {
        checkpointId = Math.max(checkpointId, completedBarrierCheckpointId + 1);
        nextBatch = 0;
        return List.of();
    }

    private void seal(Buffer buffer) {
        sealed.add(new ClickHouseCommittable(options.sinkId(), jobId, writerId, subtask, checkpointId, nextBatch++,
                buffer.table, clock.millis(), buffer.rows, ENCODING, Math.toIntExact(buffer.bodyBytes), buffer.finish()));
    }

    @Override
    public void close() {
        open.clear();
        sealed.clear();
        if (lease != null) {
            lease.close();
        }
    }

    /**
     * One open batch per table and monthly partition: an INSERT never spans partitions, so no input (a backlog spread
     * over years included) can exceed ClickHouse 24.x's max_partitions_per_insert_block (100) and wedge the commit.
     */
    private record BufferKey(String table, int partition) {
    }

    /** One table's open batch: JSON lines, each followed by '\n', compressed as they come. */
    private static final class Buffer {
        final String table;
        final ByteArrayOutputStream compressed = new ByteArrayOutputStream(INITIAL_BUFFER);
        final OutputStream lz4 = ENCODING.encoder(compressed);
        int rows;
        long bodyBytes;

        Buffer(String table) {
            this.table = table;
        }

        void append(byte[] line) {
            try {
                lz4.write(line, 0, line.length);
                lz4.write('\n');
            } catch (IOException e) { // a ByteArrayOutputStream does not throw
                throw new UncheckedIOException(e);
            }
            rows++;
            bodyBytes += line.length + 1;
        }

        byte[] finish() {
            try {
                lz4.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return compressed.toByteArray();
        }
    }
}
