package io.csr.perf.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The soak's own services as set up before anything starts (its PostgreSQL cluster is initialised there). */
class OwnServicesITCase {
    @Test
    void aSoakThatCannotBeSetUpLeavesNoFileSystemMounted(@TempDir Path tmp) throws IOException {
        Path repo = Migrations.sqlRoot().getParent();
        // the repository as it is, but for a gateway that was never built
        Path root = Files.createDirectories(tmp.resolve("root"));
        try (Stream<Path> entries = Files.list(repo)) {
            for (Path e : entries.toList()) {
                if (!e.getFileName().toString().equals("gateway")) {
                    Files.createSymbolicLink(root.resolve(e.getFileName()), e);
                }
            }
        }
        // under target/, as the soak's own work dir: initdb runs as user postgres, which cannot enter a @TempDir
        Path work = Path.of("target").toAbsolutePath().resolve("own-services-" + System.currentTimeMillis());

        assertThatThrownBy(() -> new OwnServices(root, work, Map.of())).hasMessageContaining("gateway")
                .hasMessageContaining("build first");
        assertThat(Files.readAllLines(Path.of("/proc/mounts"))).as("mounts after the failed set-up")
                .noneMatch(line -> line.contains(work.toString()));
    }
}
