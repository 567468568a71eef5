package io.csr.ops.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The wait for a service a benchmark starts: its limit comes from the caller, and a failure names the log and quotes it. */
class ServicesTest {
    @TempDir
    Path dir;

    @Test
    void theWaitEndsAtTheCallersLimitNamingTheLogAndItsLastLines() throws Exception {
        Path log = Files.writeString(dir.resolve("bench-gateway.log"), "starting\nstill compiling\n");
        AtomicInteger checks = new AtomicInteger();
        try (Services services = new Services(new Jvm(dir), Map.of(), Duration.ZERO)) {
            assertThatThrownBy(() -> services.await(Duration.ZERO, "the benchmark gateway", log, () -> checks.incrementAndGet() < 0))
                    .hasMessageStartingWith("the benchmark gateway was not ready within 0 s (--start-seconds")
                    .hasMessageContaining("log " + log).hasMessageEndingWith("\n      starting\n      still compiling");
        }
        assertThat(checks).as("a limit of 0 s: one look, no waiting for a limit of its own").hasValue(1);
    }

    @Test
    void aStartedProcessThatExitedEndsTheWaitAtOnce() throws Exception {
        Path log = Files.writeString(dir.resolve("bench-e2e-job.log"), "Exception: port in use\n");
        try (Services services = new Services(new Jvm(dir), Map.of(), Duration.ZERO)) {
            Process exited = services.track(new ProcessBuilder("false").start());
            exited.waitFor();
            assertThatThrownBy(() -> services.await(Duration.ofHours(1), "the benchmark job", log, () -> false))
                    .hasMessageStartingWith("the benchmark job is not up: its process exited (1) after 0 s; log " + log)
                    .hasMessageEndingWith("Exception: port in use");
        }
    }

    @Test
    void aReadyServiceEndsTheWaitAndAMissingLogIsSaid() throws Exception {
        try (Services services = new Services(new Jvm(dir), Map.of(), Duration.ZERO)) {
            services.await(Duration.ZERO, "the benchmark gateway", dir.resolve("none.log"), () -> true);
        }
        assertThat(Services.tail(dir.resolve("none.log"))).startsWith(" (not readable: ");
    }
}
