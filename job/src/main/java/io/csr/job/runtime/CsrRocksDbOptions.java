package io.csr.job.runtime;

import org.apache.flink.contrib.streaming.state.RocksDBOptionsFactory;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;

import java.util.Collection;

/**
 * RocksDB settings Flink has no configuration key for, applied on top of Flink's own (bloom filters, partitioned
 * index/filters, threads and memory stay where FlinkSettings puts them).
 *
 * <p>Every incremental checkpoint flushes each operator's memtable, so with a 5 s interval a new small L0 file appears
 * every 5 s. With RocksDB's default trigger of 4 L0 files, every 20 s an L0 → L1 compaction merged those files with
 * all of L1, because the dedup's keys (random event ids) spread every small file over the whole key range: at 24 h of
 * ids (86 M, 4 GB) that rewrote L1 about three times a minute, most of the background CPU of a full-size run. Waiting
 * for {@value #L0_COMPACTION_TRIGGER} files (about 80 s of checkpoints) rewrites L1 a quarter as often; a lookup then
 * checks up to that many more L0 files, each answered by its pinned bloom filter.
 */
public final class CsrRocksDbOptions implements RocksDBOptionsFactory {
    private static final long serialVersionUID = 1L;
    static final int L0_COMPACTION_TRIGGER = 16;
    /** RocksDB's defaults are 20 and 36 against a trigger of 4; kept as far above the raised trigger. */
    static final int L0_SLOWDOWN_WRITES = L0_COMPACTION_TRIGGER + 16;
    static final int L0_STOP_WRITES = L0_COMPACTION_TRIGGER + 32;

    @Override
    public DBOptions createDBOptions(DBOptions currentOptions, Collection<AutoCloseable> handlesToClose) {
        return currentOptions;
    }

    @Override
    public ColumnFamilyOptions createColumnOptions(ColumnFamilyOptions currentOptions, Collection<AutoCloseable> handlesToClose) {
        return currentOptions
                .setLevel0FileNumCompactionTrigger(L0_COMPACTION_TRIGGER)
                .setLevel0SlowdownWritesTrigger(L0_SLOWDOWN_WRITES)
                .setLevel0StopWritesTrigger(L0_STOP_WRITES);
    }
}
