package io.csr.ops;

import io.csr.ops.CsrFunctions.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/csr start} gives up as soon as the process it launched is gone and names the cause in one line
 * ({@code death_cause}): these drive the shell functions over logs like the gateway's and the job's.
 */
class StartFailureCauseTest {

    @Test
    void ourOwnErrorLineWinsOverEverythingElse(@TempDir Path state) throws Exception {
        String log = "==> Running the gateway\nINFO logging configured\n"
                + "error [gateway]: JWT_SECRET must be at least 32 bytes for HS256 (it has 5); generate one with: openssl rand -base64 48\n";
        assertThat(cause(state, "gateway", "", log))
                .isEqualTo("JWT_SECRET must be at least 32 bytes for HS256 (it has 5); generate one with: openssl rand -base64 48");
    }

    @Test
    void anUncaughtExceptionIsReducedToItsMessageAndRootCause(@TempDir Path state) throws Exception {
        String before = "Exception in thread \"main\" java.lang.IllegalStateException: an older start that failed\n";
        String log = "12:00 INFO starting\nException in thread \"main\" org.apache.flink.util.FlinkException: Could not start the MiniCluster.\n"
                + "\tat org.apache.flink.Foo.bar(Foo.java:1)\nCaused by: java.lang.RuntimeException: wrapped\n"
                + "Caused by: java.net.BindException: Address already in use\n\tat sun.nio.ch.Net.bind(Net.java:1)\n";
        assertThat(cause(state, "job", before, log)).isEqualTo("Could not start the MiniCluster.; cause: Address already in use");
    }

    @Test
    void withoutAnExceptionTheLastLineIsTheCause(@TempDir Path state) throws Exception {
        assertThat(cause(state, "job", "", "starting\nsomething odd happened\n\n")).isEqualTo("something odd happened");
        assertThat(cause(state, "gateway", "old line\n", "")).isEqualTo("nothing in the log");
    }

    @Test
    void waitStartedGivesUpAtOnceWhenTheProcessIsGone(@TempDir Path state) throws Exception {
        Files.createDirectories(state.resolve("logs"));
        Files.createDirectories(state.resolve("run"));
        Files.writeString(state.resolve("logs/gateway.log"), "error [gateway]: GATEWAY_PORT=99999 is out of range\n");
        Files.writeString(state.resolve("run/gateway.pid"), "2147483646\n"); // no such process
        long t0 = System.nanoTime();
        Result r = bash(state, "wait_started gateway 60 0 false");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("error [start gateway]: the gateway process exited during start-up: GATEWAY_PORT=99999 is out of range");
        assertThat(ms).as("gave up without waiting out the 60 s").isLessThan(20_000);
    }

    private static String cause(Path state, String name, String before, String written) throws Exception {
        Path logs = Files.createDirectories(state.resolve("logs"));
        Files.writeString(logs.resolve(name + ".log"), before);
        Result r = bash(state, "from=$(log_size " + name + "); printf '%s' \"$NEW\" >>\"$LOG_DIR/" + name + ".log\"; death_cause " + name + " \"$from\"", written);
        assertThat(r.exit()).as(r.err()).isZero();
        return r.out().strip();
    }

    private static Result bash(Path state, String script) throws Exception {
        return CsrFunctions.run(state, script);
    }

    private static Result bash(Path state, String script, String newLog) throws Exception {
        return CsrFunctions.run(state, script, env -> env.put("NEW", newLog));
    }
}
