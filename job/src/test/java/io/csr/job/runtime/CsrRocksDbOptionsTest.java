package io.csr.job.runtime;

import org.junit.jupiter.api.Test;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.RocksDB;

import java.util.ArrayList;

import static org.assertj.core.api.Assertions.assertThat;

class CsrRocksDbOptionsTest {
    @Test
    void l0CompactionWaitsForSixteenCheckpointFlushesAndWritesStallOnlyFarAbove() {
        RocksDB.loadLibrary();
        try (ColumnFamilyOptions options = new CsrRocksDbOptions().createColumnOptions(new ColumnFamilyOptions(), new ArrayList<>())) {
            assertThat(options.level0FileNumCompactionTrigger()).isEqualTo(16);
            assertThat(options.level0SlowdownWritesTrigger()).isEqualTo(32);
            assertThat(options.level0StopWritesTrigger()).isEqualTo(48);
        }
    }
}
