package io.csr.job.testing;

import io.csr.job.upgrade.SavepointCompatibility;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeOffsets;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Savepoint directories with only a _metadata file, for what reads a savepoint's metadata without restoring it. */
public final class SavepointFiles {
    private SavepointFiles() {
    }

    /** {@code dir}/_metadata holding one keyed operator's state (uid "windows") written with {@code maxParallelism}. */
    public static Path keyed(Path dir, int maxParallelism) throws IOException {
        Files.createDirectories(dir);
        OperatorState s = new OperatorState(SavepointCompatibility.operatorId("windows"), 1, maxParallelism);
        s.putState(0, OperatorSubtaskState.builder().setManagedKeyedState(new KeyGroupsStateHandle(
                new KeyGroupRangeOffsets(KeyGroupRange.of(0, maxParallelism - 1)),
                new ByteStreamStateHandle("keyed", new byte[]{1, 2, 3}))).build());
        try (OutputStream out = Files.newOutputStream(dir.resolve("_metadata")); DataOutputStream data = new DataOutputStream(out)) {
            Checkpoints.storeCheckpointMetadata(new CheckpointMetadata(1, List.of(s), List.of()), data);
        }
        return dir;
    }
}
