package io.csr.job.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactionStyle;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.Statistics;
import org.rocksdb.TickerType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class CsrRocksDbOptionsTest {
    /** Flushes after the reopen: more than the sorted-run trigger, far fewer than the write-stop limit. */
    private static final int FLUSHES = CsrRocksDbOptions.L0_COMPACTION_TRIGGER + 4;

    @Test
    void universalCompactionWaitsForSixteenCheckpointFlushesAndWritesStallOnlyFarAbove() {
        RocksDB.loadLibrary();
        ArrayList<AutoCloseable> handles = new ArrayList<>();
        try (ColumnFamilyOptions options = new CsrRocksDbOptions().createColumnOptions(new ColumnFamilyOptions(), handles)) {
            assertThat(options.compactionStyle()).isEqualTo(CompactionStyle.UNIVERSAL);
            assertThat(options.compactionOptionsUniversal().maxSizeAmplificationPercent()).isEqualTo(100);
            assertThat(handles).as("the universal options are closed with the column family's").hasSize(1);
            assertThat(options.level0FileNumCompactionTrigger()).isEqualTo(16);
            assertThat(options.level0SlowdownWritesTrigger()).isEqualTo(32);
            assertThat(options.level0StopWritesTrigger()).isEqualTo(48);
        }
        for (AutoCloseable handle : handles) {
            try {
                handle.close();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * A job upgraded from a version with leveled compaction restores state written under it: RocksDB must open those
     * files with the universal options, keep every key, and go on compacting by itself (each level becomes a sorted
     * run). No manual {@code compactRange()} here — that compacts under any style and any trigger; what must be seen is
     * RocksDB's own background compaction starting once the flushes pass the sorted-run trigger.
     */
    @Test
    void stateWrittenUnderLeveledCompactionOpensAndCompactsUnderUniversal(@TempDir Path dir) throws Exception {
        RocksDB.loadLibrary();
        String path = dir.toString();
        try (Options leveled = new Options().setCreateIfMissing(true).setCompactionStyle(CompactionStyle.LEVEL);
             RocksDB db = RocksDB.open(leveled, path);
             FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
            for (int file = 0; file < 8; file++) {
                for (int i = 0; i < 5_000; i++) {
                    db.put(key(file * 5_000 + i), key(i));
                }
                db.flush(flush);
            }
            db.compactRange(); // into L1 and below: a leveled tree, not only L0 files
            assertThat(db.getProperty("rocksdb.num-files-at-level0")).isEqualTo("0");
        }

        ArrayList<AutoCloseable> handles = new ArrayList<>();
        try (ColumnFamilyOptions universal = new CsrRocksDbOptions().createColumnOptions(new ColumnFamilyOptions(), handles);
             Statistics statistics = new Statistics();
             DBOptions options = new DBOptions().setStatistics(statistics)) {
            List<ColumnFamilyHandle> families = new ArrayList<>();
            try (RocksDB db = RocksDB.open(options, path,
                    List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, universal)), families);
                 FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
                for (int i = 0; i < 40_000; i += 997) {
                    assertThat(db.get(key(i))).as("key %d written under leveled compaction", i).isNotNull();
                }
                assertThat(statistics.getTickerCount(TickerType.COMPACT_WRITE_BYTES)).as("nothing compacted on open").isZero();
                for (int file = 0; file < FLUSHES; file++) { // more flushes than the sorted-run trigger
                    for (int i = 0; i < 1_000; i++) {
                        db.put(key(40_000 + file * 1_000 + i), key(i));
                    }
                    db.flush(flush);
                }
                await("RocksDB's own compaction of the flushed files").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                            assertThat(statistics.getTickerCount(TickerType.COMPACT_WRITE_BYTES)).as("bytes written by compactions").isPositive();
                            assertThat(db.getProperty("rocksdb.compaction-pending")).as("no compaction still pending").isEqualTo("0");
                            assertThat(Long.parseLong(db.getProperty("rocksdb.num-files-at-level0")))
                                    .as("L0 files left of %d flushes: automatic compaction merged them", FLUSHES).isLessThan(FLUSHES);
                        });
                long keys = 0;
                try (var it = db.newIterator()) {
                    for (it.seekToFirst(); it.isValid(); it.next()) {
                        keys++;
                    }
                }
                assertThat(keys).as("every key, old and new, after compacting under universal").isEqualTo(60_000);
                families.forEach(ColumnFamilyHandle::close);
            }
        } finally {
            for (AutoCloseable handle : handles) {
                handle.close();
            }
        }
    }

    private static byte[] key(int i) {
        return String.format("%08d", i).getBytes(StandardCharsets.UTF_8);
    }
}
