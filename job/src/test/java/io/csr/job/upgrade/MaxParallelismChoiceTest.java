package io.csr.job.upgrade;

import io.csr.common.config.ConfigKey;
import io.csr.job.testing.SavepointFiles;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeOffsets;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.OperatorStreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MaxParallelismChoiceTest {
    private static final String SAVEPOINT = "file:/state/savepoints/savepoint-1a2b3c-0123456789ab";
    private static final int OLD_DEFAULT = 128;

    @Test
    void aFreshStartTakesTheDefaultChosenForGrowthUnlessSet() {
        assertThat(MaxParallelismChoice.choose(OptionalInt.empty(), null, OptionalInt.empty()).maxParallelism())
                .isEqualTo(MaxParallelismChoice.FRESH_DEFAULT).isEqualTo(1024);
        assertThat(MaxParallelismChoice.choose(OptionalInt.of(256), null, OptionalInt.empty()).maxParallelism()).isEqualTo(256);
        assertThat(ConfigKey.MAX_PARALLELISM.defaultValue()).as("the README's table says what a fresh start takes")
                .isEqualTo(String.valueOf(MaxParallelismChoice.FRESH_DEFAULT));
    }

    @Test
    void aRestoreWithoutMaxParallelismSetAdoptsTheStatesValue() {
        MaxParallelismChoice.Choice c = MaxParallelismChoice.choose(OptionalInt.empty(), SAVEPOINT, OptionalInt.of(OLD_DEFAULT));
        assertThat(c.maxParallelism()).isEqualTo(OLD_DEFAULT);
        assertThat(c.reason()).contains("adopted from " + SAVEPOINT);
    }

    @Test
    void aRestoreWithTheSameValueSetRestores() {
        assertThat(MaxParallelismChoice.choose(OptionalInt.of(OLD_DEFAULT), SAVEPOINT, OptionalInt.of(OLD_DEFAULT)).maxParallelism())
                .isEqualTo(OLD_DEFAULT);
    }

    @Test
    void aRestoreWithAnotherValueSetIsRefusedNamingBothAndTheFix() {
        assertThatThrownBy(() -> MaxParallelismChoice.choose(OptionalInt.of(4096), SAVEPOINT, OptionalInt.of(OLD_DEFAULT)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(SAVEPOINT).hasMessageContaining("written with max parallelism 128")
                .hasMessageContaining("MAX_PARALLELISM=4096 is set")
                .hasMessageContaining("Leave MAX_PARALLELISM unset").hasMessageContaining("set MAX_PARALLELISM=128");
    }

    @Test
    void aRestorePointWithoutOperatorStateIsAFreshStart() {
        assertThat(MaxParallelismChoice.choose(OptionalInt.empty(), SAVEPOINT, OptionalInt.empty()).maxParallelism())
                .isEqualTo(MaxParallelismChoice.FRESH_DEFAULT);
    }

    @Test
    void theSavepointsValueIsTheOneItsKeyedStateWasWrittenWith() {
        OperatorState keyed = keyed(op("windows"), OLD_DEFAULT);
        // a non-keyed operator pinned to 1 (as Flink pins forceNonParallel operators) does not decide it
        assertThat(MaxParallelismChoice.of(List.of(operatorOnly(op("source"), 1), keyed))).hasValue(OLD_DEFAULT);
        assertThat(MaxParallelismChoice.of(List.of(operatorOnly(op("source"), 1024)))).as("no keyed state: all operators")
                .hasValue(1024);
        assertThat(MaxParallelismChoice.of(List.of())).isEmpty();
        assertThatThrownBy(() -> MaxParallelismChoice.of(List.of(keyed, keyed(op("dedup"), 4096))))
                .hasMessageContaining("[128, 4096]").hasMessageContaining("set MAX_PARALLELISM");
    }

    @Test
    void theValueIsReadFromASavepointsMetadataFile(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path savepoint = SavepointFiles.keyed(dir.resolve("savepoint-000000-000000000001"), OLD_DEFAULT);
        assertThat(MaxParallelismChoice.of(SavepointCompatibility.load(savepoint.toUri().toString()))).hasValue(OLD_DEFAULT);
    }

    private static OperatorID op(String uid) {
        return SavepointCompatibility.operatorId(uid);
    }

    private static OperatorState keyed(OperatorID id, int maxParallelism) {
        OperatorState s = new OperatorState(id, 1, maxParallelism);
        KeyGroupRange all = KeyGroupRange.of(0, maxParallelism - 1);
        s.putState(0, OperatorSubtaskState.builder().setManagedKeyedState(new KeyGroupsStateHandle(
                new KeyGroupRangeOffsets(all), new ByteStreamStateHandle("keyed", new byte[]{1, 2, 3}))).build());
        return s;
    }

    private static OperatorState operatorOnly(OperatorID id, int maxParallelism) {
        OperatorState s = new OperatorState(id, 1, maxParallelism);
        s.putState(0, OperatorSubtaskState.builder().setManagedOperatorState(
                new OperatorStreamStateHandle(Map.of(), new ByteStreamStateHandle("splits", new byte[]{1}))).build());
        return s;
    }
}
