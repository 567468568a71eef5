package io.csr.perf.soak;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The short soak of issue 26 on every build: {@code csr soak --minutes 3 --faults 12} with a fixed seed (one fault of
 * every kind), against processes of its own (needs the job and gateway jars this build packaged, and the
 * redis-server, nats-server, clickhouse-server and PostgreSQL 15 binaries `bin/csr test` makes sure of). Passes only
 * when every event, window, dead letter and dashboard was exact; the result lands in target/soak-results.
 */
class SoakITCase {
    @Test
    void threeMinutesTwelveFaultsEverythingExact() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isDirectory(root.resolve("ops/local/clickhouse"))) {
            root = root.getParent();
        }
        assertThat(root).as("the repository root above %s", Path.of("").toAbsolutePath()).isNotNull();
        Path target = Path.of("target").toAbsolutePath();
        Path work = target.resolve("soak-" + System.currentTimeMillis());
        boolean pass = new Soak(new Soak.Options(3, 12, 26001, 25, 3, root, work, target.resolve("soak-results"),
                Duration.ofSeconds(300))).run();
        assertThat(pass).as("the soak's verdict (failures in %s and the JSON under target/soak-results)", work).isTrue();
    }
}
