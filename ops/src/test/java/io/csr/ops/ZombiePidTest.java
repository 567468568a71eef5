package io.csr.ops;

import org.junit.jupiter.api.AfterEach;
import io.csr.ops.CsrFunctions.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 26: {@code bin/csr start} one second after a kill -9 of the job answered "job runs" for the dead process,
 * because its pid still answered {@code kill -0} while nobody had reaped it (a zombie), and started nothing. These
 * drive bin/csr's own pid checks over a real zombie: a child whose parent never waits for it.
 */
class ZombiePidTest {
    private Process parent;

    @AfterEach
    void killTheParent() throws Exception {
        if (parent != null) {
            parent.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // init reaps the zombie with it
        }
    }

    @Test
    void aZombieIsNotARunningComponent(@TempDir Path state) throws Exception {
        long pid = zombie(state);
        Files.writeString(Files.createDirectories(state.resolve("run")).resolve("job.pid"), pid + "\n");
        assertThat(bash(state, "kill -0 " + pid).exit()).as("the zombie still answers kill -0, as in issue 26").isZero();

        assertThat(bash(state, "started_by_us job").exit()).as("a zombie job is not 'started by us' any more").isEqualTo(1);
        assertThat(bash(state, "alive " + pid).exit()).isEqualTo(1);
    }

    @Test
    void stoppingAZombieDoesNotWaitForItToDie(@TempDir Path state) throws Exception {
        long pid = zombie(state);
        Path pidFile = Files.createDirectories(state.resolve("run")).resolve("job.pid");
        Files.writeString(pidFile, pid + "\n");
        long t0 = System.nanoTime();
        Result r = bash(state, "stop_pid job");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).as("no 30 s wait for a SIGTERM it cannot answer").isLessThan(10);
        assertThat(pidFile).doesNotExist();
    }

    @Test
    void aLiveProcessIsRunning(@TempDir Path state) throws Exception {
        parent = new ProcessBuilder("sleep", "60").start();
        Files.writeString(Files.createDirectories(state.resolve("run")).resolve("job.pid"), parent.pid() + "\n");
        assertThat(bash(state, "started_by_us job").exit()).isZero();
        assertThat(bash(state, "started_by_us gateway").exit()).as("no pid file").isEqualTo(1);
    }

    /** A child that exits at once under a parent that never reaps it (exec sleep): a zombie until the parent ends. */
    private long zombie(Path dir) throws Exception {
        Path pidFile = dir.resolve("child.pid");
        parent = new ProcessBuilder("bash", "-c", "sleep 0.1 & echo $! >\"$0\"; exec sleep 60", pidFile.toString()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (Files.exists(pidFile) && !Files.readString(pidFile).isBlank()) {
                long pid = Long.parseLong(Files.readString(pidFile).strip());
                String stat = Files.exists(Path.of("/proc/" + pid + "/stat")) ? Files.readString(Path.of("/proc/" + pid + "/stat")) : "";
                if (stat.substring(stat.lastIndexOf(')') + 1).strip().startsWith("Z")) {
                    return pid;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the child did not become a zombie within 20 s");
    }

    private static Result bash(Path state, String script) throws Exception {
        return CsrFunctions.run(state, script);
    }
}
