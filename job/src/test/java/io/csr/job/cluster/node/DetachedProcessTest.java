package io.csr.job.cluster.node;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a pid file under the run directory says of its process, for the cluster's nodes (DetachedProcess) and the
 * Flink processes (LocalCluster, through the same class): a zombie and a reused pid are not running, as in bin/csr
 * since issue 26.
 */
class DetachedProcessTest {
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopWhatWasStarted() throws Exception {
        for (Process p : started) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // init reaps a zombie child with its parent
        }
    }

    @Test
    void aLiveRecordedProcessRuns(@TempDir Path dir) throws Exception {
        Process p = start("sleep", "60");
        DetachedProcess process = recorded(dir, p.pid());
        assertThat(process.pid()).contains(p.pid());
        assertThat(process.alive()).isTrue();
    }

    @Test
    void aZombieIsNotAlive(@TempDir Path dir) throws Exception {
        long pid = zombie(dir);
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("the JDK still counts the zombie as alive").contains(true);
        DetachedProcess process = recorded(dir, pid);

        assertThat(process.pid()).isEmpty();
        assertThat(process.alive()).isFalse();
        long t0 = System.nanoTime();
        assertThat(process.stop(line -> { })).as("nothing to stop").isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for a SIGTERM a zombie cannot answer").isLessThan(Duration.ofSeconds(10));
        assertThat(process.pidFile()).doesNotExist();
    }

    @Test
    void aPidFileOlderThanItsProcessNamesAnotherProgram(@TempDir Path dir) throws Exception {
        Process p = start("sleep", "60");
        DetachedProcess process = recorded(dir, p.pid());
        Files.setLastModifiedTime(process.pidFile(), FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        assertThat(process.pid()).as("the pid was recorded an hour before this process started: reused").isEmpty();
    }

    @Test
    void noFileOrNoPidIsNotRunning(@TempDir Path dir) throws Exception {
        DetachedProcess process = new DetachedProcess("x", dir, dir.resolve("x.log"));
        assertThat(process.pid()).isEmpty();
        Files.writeString(process.pidFile(), "not a pid\n");
        assertThat(process.pid()).isEmpty();
    }

    private static DetachedProcess recorded(Path dir, long pid) throws Exception {
        DetachedProcess process = new DetachedProcess("node", dir, dir.resolve("node.log"));
        Files.writeString(process.pidFile(), pid + "\n");
        return process;
    }

    private Process start(String... command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        started.add(p);
        return p;
    }

    /** A child that exits at once under a parent that never reaps it (exec sleep): a zombie until the parent ends. */
    private long zombie(Path dir) throws Exception {
        Path childPid = dir.resolve("child");
        start("bash", "-c", "sleep 0.1 & echo $! >\"$0\"; exec sleep 60", childPid.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (Files.exists(childPid) && !Files.readString(childPid).isBlank()) {
                long pid = Long.parseLong(Files.readString(childPid).strip());
                Path stat = Path.of("/proc/" + pid + "/stat");
                String s = Files.exists(stat) ? Files.readString(stat) : "";
                if (s.substring(s.lastIndexOf(')') + 1).strip().startsWith("Z")) {
                    return pid;
                }
            }
            Thread.sleep(20); // polling /proc for the state change; there is nothing to wait on
        }
        throw new AssertionError("the child did not become a zombie within 20 s");
    }
}
