package io.csr.common.clickhouse;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Retriable by code and message: one code, two meanings. */
class ClickHouseErrorClassificationTest {

    @Test
    void tooManyPartsWhileMergesLagIsRetriedButTooManyPartitionsPerInsertIsPermanent() {
        assertThat(ClickHouseAccess.retriable(252, "Code: 252. DB::Exception: Too many parts (300). Merges are processing "
                + "significantly slower than inserts. (TOO_MANY_PARTS)")).isTrue();
        assertThat(ClickHouseAccess.retriable(252, "Code: 252. DB::Exception: Too many partitions for single INSERT block "
                + "(more than 100). The limit is controlled by 'max_partitions_per_insert_block' setting. (TOO_MANY_PARTS)"))
                .isFalse();
    }

    @Test
    void timeoutsAreRetriedAndSchemaErrorsAreNot() {
        assertThat(ClickHouseAccess.retriable(159, "Timeout exceeded")).isTrue();
        assertThat(ClickHouseAccess.retriable(60, "Table csr.nope doesn't exist")).isFalse();
        assertThat(ClickHouseAccess.retriable(16, "No such column x in table")).isFalse();
    }
}
