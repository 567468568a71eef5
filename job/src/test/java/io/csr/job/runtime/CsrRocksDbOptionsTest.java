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

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CsrRocksDbOptionsTest {
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
     * files with the universal options, keep every key, and go on compacting (each level becomes a sorted run).
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
             DBOptions options = new DBOptions()) {
            List<ColumnFamilyHandle> families = new ArrayList<>();
            try (RocksDB db = RocksDB.open(options, path,
                    List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, universal)), families);
                 FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
                for (int i = 0; i < 40_000; i += 997) {
                    assertThat(db.get(key(i))).as("key %d written under leveled compaction", i).isNotNull();
                }
                for (int file = 0; file < 20; file++) { // more flushes than the sorted-run trigger
                    for (int i = 0; i < 1_000; i++) {
                        db.put(key(40_000 + file * 1_000 + i), key(i));
                    }
                    db.flush(flush);
                }
                db.compactRange();
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
