package io.csr.job.runtime;

import org.junit.jupiter.api.Test;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactionStyle;
import org.rocksdb.RocksDB;

import java.util.ArrayList;

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
}
