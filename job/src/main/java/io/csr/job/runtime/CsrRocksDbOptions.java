package io.csr.job.runtime;

import org.apache.flink.contrib.streaming.state.RocksDBOptionsFactory;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactionOptionsUniversal;
import org.rocksdb.CompactionStyle;
import org.rocksdb.DBOptions;

import java.util.Collection;

/**
 * RocksDB settings Flink has no configuration key for, applied on top of Flink's own (bloom filters, partitioned
 * index/filters, threads and memory stay where FlinkSettings puts them).
 *
 * <p><b>Universal (tiered) compaction.</b> Every incremental checkpoint flushes each operator's memtable, so with a
 * 5 s interval a new small file appears every 5 s. The dedup's keys are random event ids, so every such file spans the
 * whole key range. Under leveled compaction each L0 → L1 compaction therefore rewrote all of L1: at 24 h of ids (86 M,
 * 4 GB) about 400–500 MB per subtask every {@value #L0_COMPACTION_TRIGGER} checkpoints, whatever the event rate —
 * 29–55 s of compaction CPU in a 90 s benchmark run and a 500 MB checkpoint upload each time, which held the full-size
 * run at 55–60 % of its control. Universal compaction merges sorted runs of similar size instead: a small flush is
 * merged with other small ones, not with the 2 GB of ids below it, so each id is rewritten a few times rather than
 * tens of times (1.4–1.6 s of compaction CPU in the same runs, and the control's throughput;
 * perf/job-ingest/README.md, fourth session).
 *
 * <p>The price is space and one periodic large compaction: ids expire (TTL compaction filter) only when the run
 * holding them is compacted, and the oldest, largest run is compacted only when the newer runs together reach
 * {@value #MAX_SIZE_AMPLIFICATION_PERCENT} % of it. So the state on disk stays below about twice the live ids, and
 * about once per dedup horizon (24 h of new ids at a steady rate) one background compaction merges everything and
 * drops what expired, after which one checkpoint uploads the whole state once. RocksDB opens state written under
 * leveled compaction with these options (each level becomes a sorted run), so a job restored from an older
 * checkpoint or savepoint needs nothing done.
 *
 * <p>A compaction starts once {@value #L0_COMPACTION_TRIGGER} sorted runs exist (about 80 s of checkpoints); a lookup
 * checks up to that many runs, each answered by its bloom filter.
 */
public final class CsrRocksDbOptions implements RocksDBOptionsFactory {
    private static final long serialVersionUID = 1L;
    static final int L0_COMPACTION_TRIGGER = 16;
    /** RocksDB's defaults are 20 and 36 against a trigger of 4; kept as far above the raised trigger. */
    static final int L0_SLOWDOWN_WRITES = L0_COMPACTION_TRIGGER + 16;
    static final int L0_STOP_WRITES = L0_COMPACTION_TRIGGER + 32;
    /** RocksDB's default is 200 (up to three times the live state on disk); 100 keeps it below about twice. */
    static final int MAX_SIZE_AMPLIFICATION_PERCENT = 100;

    @Override
    public DBOptions createDBOptions(DBOptions currentOptions, Collection<AutoCloseable> handlesToClose) {
        return currentOptions;
    }

    @Override
    public ColumnFamilyOptions createColumnOptions(ColumnFamilyOptions currentOptions, Collection<AutoCloseable> handlesToClose) {
        CompactionOptionsUniversal universal = new CompactionOptionsUniversal()
                .setMaxSizeAmplificationPercent(MAX_SIZE_AMPLIFICATION_PERCENT);
        handlesToClose.add(universal);
        return currentOptions
                .setCompactionStyle(CompactionStyle.UNIVERSAL)
                .setCompactionOptionsUniversal(universal)
                .setLevel0FileNumCompactionTrigger(L0_COMPACTION_TRIGGER)
                .setLevel0SlowdownWritesTrigger(L0_SLOWDOWN_WRITES)
                .setLevel0StopWritesTrigger(L0_STOP_WRITES);
    }
}
