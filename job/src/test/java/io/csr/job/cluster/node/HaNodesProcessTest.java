package io.csr.job.cluster.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HaNodesProcessTest {
    @TempDir
    Path tmp;

    @Test
    void theEndpointsNameTheRedisNodesPortsAndTheGatewaysPortsOfTheBlock() {
        Map<String, String> endpoints = new HaNodesProcess(tmp, 20_000, line -> { }).endpoints();
        assertThat(endpoints.get("REDIS_PORTS")).as("3 masters + 3 replicas at the start of the block")
                .isEqualTo("20000,20001,20002,20003,20004,20005");
        assertThat(endpoints.get("GATEWAY_PORTS")).isEqualTo("20060,20061,20062,20063");
        assertThat(HaNodesProcess.ports(20_000)).as("every port of the block is checked free")
                .containsAll(List.of(20_000, 20_005, 30_000, 30_005, 20_060, 20_063));
    }

    @Test
    void aBlockWhoseLockAnotherHolderHasIsNeverHandedOutAndTheBlocksAreDisjoint() throws Exception {
        Path locks = Files.createDirectories(tmp.resolve("locks"));
        List<Integer> bases = new ArrayList<>();
        for (int i = 0; i < HaNodesProcess.BLOCKS; i++) {
            bases.add(HaNodesProcess.FIRST_BASE + i * HaNodesProcess.BLOCK_STRIDE);
        }
        for (int i = 0; i + 1 < bases.size(); i++) {
            assertThat(HaNodesProcess.ports(bases.get(i))).as("blocks %d and %d share no port", bases.get(i), bases.get(i + 1))
                    .doesNotContainAnyElementsOf(HaNodesProcess.ports(bases.get(i + 1)));
        }
        int last = bases.get(bases.size() - 1);
        List<FileChannel> held = new ArrayList<>();
        try {
            // another soak holds every block but the last (its lock, whatever its nodes have bound yet)
            for (int base : bases.subList(0, bases.size() - 1)) {
                FileChannel c = FileChannel.open(locks.resolve("ha-ports-" + base + ".lock"), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                held.add(c);
                assertThat(c.tryLock()).isNotNull();
            }
            assertThat(HaNodesProcess.reserveBase(locks)).as("the only block no one holds").isEqualTo(last);
            assertThatThrownBy(() -> HaNodesProcess.reserveBase(locks)).as("every block held now")
                    .hasMessageContaining("no free block").hasMessageContaining(last + " (held by another soak)");
        } finally {
            for (FileChannel c : held) {
                c.close();
            }
        }
    }
}
