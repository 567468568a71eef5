package io.csr.job.sink.clickhouse;

import net.jpountz.lz4.LZ4BlockInputStream;
import net.jpountz.lz4.LZ4BlockOutputStream;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.xxhash.XXHashFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * One batch of rows for one table, sealed by a writer for one checkpoint and inserted by the committer after that
 * checkpoint completes. It travels through Flink's checkpoint state between the two, so it carries everything the
 * commit needs: the rows themselves (a JSONEachRow body) and the identity under which the commit ledger records it.
 *
 * <p>The rows are usually held LZ4-compressed ({@link Encoding#LZ4_BLOCKS}, written by the sink writer as it buffers):
 * JSON rows shrink about five-fold, and every byte of a committable is copied several times over on its way into a
 * checkpoint (Flink nests the committer's state four serializers deep), so this is what keeps checkpoints and the
 * committer's heap small. {@link #openBody()} streams the rows back; {@link #payload()} materialises them.
 *
 * <p>The ledger key ({@link #ledgerKey()}) uses only values fixed when the writer built the batch, never anything of
 * the job that happens to commit it, so a committable replayed after a restart, failover or resubmission from a
 * savepoint (new job id) is recognised as the same batch.
 */
public final class ClickHouseCommittable {
    private final String sinkId;
    private final String jobId;
    private final String writerId;
    private final int subtask;
    private final long checkpointId;
    private final int batch;
    private final String table;
    private final long preparedAtMs;
    private final int rows;
    private final Encoding encoding;
    private final int bodyBytes;
    private final byte[] stored;

    /** How {@link #stored()} holds the JSONEachRow body. The ids are part of the checkpoint format: never reuse one. */
    public enum Encoding {
        /** The body as it is. */
        PLAIN(0),
        /** The body through lz4-java's {@code LZ4BlockOutputStream} (64 KiB blocks, XXHash32 checksums). */
        LZ4_BLOCKS(1);

        /** Block size of {@link #LZ4_BLOCKS}: big enough for JSON rows to compress well (about five-fold). */
        private static final int LZ4_BLOCK = 64 * 1024;
        private static final int XXHASH_SEED = 0x9747b28c; // lz4-java's own default
        /*
         * Pure-Java LZ4 and XXHash, through constructors that lz4-java 1.8 (Flink's) and 1.10 (ours) both have: either
         * may be first on a task manager's classpath, and no native library has to be unpacked there.
         */
        private static final LZ4Factory LZ4 = LZ4Factory.fastestJavaInstance();
        private static final XXHashFactory XXHASH = XXHashFactory.fastestJavaInstance();

        public final int id;

        Encoding(int id) {
            this.id = id;
        }

        /** A stream that writes its input to {@code out} in this encoding; closing it finishes the encoding. */
        public OutputStream encoder(OutputStream out) {
            return this == PLAIN ? out : new LZ4BlockOutputStream(out, LZ4_BLOCK, LZ4.fastCompressor(),
                    XXHASH.newStreamingHash32(XXHASH_SEED).asChecksum(), false);
        }

        /** Reads what {@link #encoder} wrote, decoded; a checksum mismatch is an IOException. */
        public InputStream decoder(InputStream in) {
            return this == PLAIN ? in : new LZ4BlockInputStream(in, LZ4.fastDecompressor(),
                    XXHASH.newStreamingHash32(XXHASH_SEED).asChecksum());
        }

        public static Encoding of(int id) throws IOException {
            for (Encoding e : values()) {
                if (e.id == id) {
                    return e;
                }
            }
            throw new IOException("unknown ClickHouse committable encoding " + id + "; this build knows "
                    + Arrays.toString(values()) + ". Restore the checkpoint with the release that wrote it.");
        }
    }

    /**
     * @param sinkId       the configured, stable sink name
     * @param jobId        Flink job id of the writer (information only)
     * @param writerId     random id of the writer instance that built the batch
     * @param subtask      the writer's subtask index
     * @param checkpointId the checkpoint the batch belongs to
     * @param batch        index of the batch among the writer's batches of that checkpoint
     * @param table        target table (validated by the writer against the sink's allowed tables)
     * @param preparedAtMs when the writer sealed the batch, epoch millis
     * @param rows         number of JSON lines in the payload
     * @param payload      JSONEachRow body: one JSON object per line, each line ending in '\n'; not copied
     */
    public ClickHouseCommittable(String sinkId, String jobId, String writerId, int subtask, long checkpointId, int batch,
                                 String table, long preparedAtMs, int rows, byte[] payload) {
        this(sinkId, jobId, writerId, subtask, checkpointId, batch, table, preparedAtMs, rows, Encoding.PLAIN,
                Objects.requireNonNull(payload, "payload").length, payload);
    }

    /**
     * @param encoding  how {@code stored} holds the body
     * @param bodyBytes length of the JSONEachRow body once decoded
     * @param stored    the body in {@code encoding}; not copied
     */
    public ClickHouseCommittable(String sinkId, String jobId, String writerId, int subtask, long checkpointId, int batch,
                                 String table, long preparedAtMs, int rows, Encoding encoding, int bodyBytes,
                                 byte[] stored) {
        this.sinkId = Objects.requireNonNull(sinkId, "sinkId");
        this.jobId = Objects.requireNonNull(jobId, "jobId");
        this.writerId = Objects.requireNonNull(writerId, "writerId");
        this.subtask = subtask;
        this.checkpointId = checkpointId;
        this.batch = batch;
        this.table = Objects.requireNonNull(table, "table");
        this.preparedAtMs = preparedAtMs;
        this.rows = rows;
        this.encoding = Objects.requireNonNull(encoding, "encoding");
        this.stored = Objects.requireNonNull(stored, "stored");
        if (bodyBytes < 0 || encoding == Encoding.PLAIN && bodyBytes != stored.length) {
            throw new IllegalArgumentException("body of " + bodyBytes + " bytes does not fit " + stored.length
                    + " stored bytes in encoding " + encoding);
        }
        this.bodyBytes = bodyBytes;
    }

    public String sinkId() {
        return sinkId;
    }

    public String jobId() {
        return jobId;
    }

    public String writerId() {
        return writerId;
    }

    public int subtask() {
        return subtask;
    }

    public long checkpointId() {
        return checkpointId;
    }

    public int batch() {
        return batch;
    }

    public String table() {
        return table;
    }

    public long preparedAtMs() {
        return preparedAtMs;
    }

    public int rows() {
        return rows;
    }

    /** The JSONEachRow body, decoded (a copy when stored compressed; shared, do not modify, when plain). */
    public byte[] payload() {
        if (encoding == Encoding.PLAIN) {
            return stored;
        }
        try (InputStream in = openBody()) {
            byte[] body = in.readNBytes(bodyBytes);
            if (body.length != bodyBytes || in.read() != -1) {
                throw new IOException("decoded " + body.length + " bytes, expected " + bodyBytes);
            }
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException("corrupt ClickHouse sink committable " + this + ": " + e.getMessage(), e);
        }
    }

    /** The JSONEachRow body as a stream, decoded on the fly. */
    public InputStream openBody() {
        return encoding.decoder(new ByteArrayInputStream(stored));
    }

    /** Length of the decoded JSONEachRow body. */
    public int bodyBytes() {
        return bodyBytes;
    }

    public Encoding encoding() {
        return encoding;
    }

    /** The body as held (and checkpointed); shared, do not modify. */
    public byte[] stored() {
        return stored;
    }

    public LedgerKey ledgerKey() {
        return new LedgerKey(sinkId, writerId, subtask, checkpointId, batch, table);
    }

    /** Identity of a committed batch in the {@code sink_commits} ledger. */
    public record LedgerKey(String sinkId, String writerId, int subtask, long checkpointId, int batch, String table) {
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ClickHouseCommittable)) {
            return false;
        }
        ClickHouseCommittable c = (ClickHouseCommittable) o;
        return subtask == c.subtask && checkpointId == c.checkpointId && batch == c.batch && preparedAtMs == c.preparedAtMs
                && rows == c.rows && bodyBytes == c.bodyBytes && encoding == c.encoding && sinkId.equals(c.sinkId)
                && jobId.equals(c.jobId) && writerId.equals(c.writerId) && table.equals(c.table)
                && Arrays.equals(stored, c.stored);
    }

    @Override
    public int hashCode() {
        return Objects.hash(sinkId, writerId, subtask, checkpointId, batch, table);
    }

    /** Names the batch without its rows (it ends up in error messages and logs). */
    @Override
    public String toString() {
        return "ClickHouseCommittable{sink=" + sinkId + ", job=" + jobId + ", writer=" + writerId + ", subtask=" + subtask
                + ", checkpoint=" + checkpointId + ", batch=" + batch + ", table=" + table + ", rows=" + rows
                + ", bytes=" + bodyBytes + (encoding == Encoding.PLAIN ? "" : " (" + stored.length + " " + encoding + ")") + "}";
    }
}
